import EventManagerCore
import SQLKit

/// Subscriptions in SQL, for SQLite and PostgreSQL alike.
///
/// Each change asks `ReminderPlanner` what it means for the queue and carries that out in the
/// same transaction, so a 2xx answer means the reminder (or confirmation email) is queued.
public struct SQLSubscriptionStore: SubscriptionRepository {
    let store: DatabaseStore
    let planner: ReminderPlanner
    let queue: QueueWriter

    public init(store: DatabaseStore, settings: ReminderSettings) {
        self.store = store
        self.planner = ReminderPlanner(settings: settings)
        self.queue = QueueWriter(settings: settings)
    }

    static let columns = "id, event_id, email, remind_before_minutes, status, token, feed_token, created_at"

    public func subscribe(eventID: Int64, request: SubscriptionRequest, now: Timestamp) async throws -> (SubscriptionView, created: Bool) {
        let (planner, queue, forShare) = (self.planner, self.queue, store.forShare)
        return try await store.transaction { sql in
            // The share lock waits for a concurrent move of the event, so the reminder is written for its final time.
            guard let (start, owner) = try await Self.eventRef(of: eventID, lock: forShare, sql: sql) else {
                throw AppError.eventNotFound(eventID)
            }
            try planner.admitSubscription(eventID: eventID, start: start, now: now)
            // The insert is the duplicate check: a concurrent subscription of the same address
            // waits on the unique index and then finds this one, on both databases.
            let token = RandomToken.timeOrdered(RandomToken.make(), at: now)
            let status = planner.initialStatus
            // The address keeps the calendar token it has (one personal feed per subscriber); a
            // new address gets a fresh one. Chosen inside the insert: no extra statement. Both
            // tokens start with the time, so their indexes grow at the end (see `timeOrdered`).
            let inserted = try await sql.insertReturning(
                """
                INSERT INTO subscriptions (event_id, email, email_normalized, remind_before_minutes, status, token, feed_token, \
                created_at) \
                VALUES (\(bind: eventID), \(bind: request.email.value), \(bind: request.email.normalized), \
                \(bind: request.remindBeforeMinutes), \(bind: status.rawValue), \(bind: token), \
                COALESCE((SELECT feed_token FROM subscriptions WHERE email_normalized = \(bind: request.email.normalized) \
                AND feed_token IS NOT NULL LIMIT 1), \(bind: RandomToken.timeOrdered(RandomToken.hex(bytes: 16), at: now))), \(bind: now.millisecondsSinceEpoch)) \
                ON CONFLICT (event_id, email_normalized) DO NOTHING
                """, table: "subscriptions", columns: "id, feed_token")
            var subscription: Subscription
            if let id = try inserted?.decode(column: "id", as: Int64.self) {
                let feedToken = try inserted?.decode(column: "feed_token", as: String.self)
                subscription = Subscription(
                    id: id, eventID: eventID, email: request.email.value, remindBeforeMinutes: request.remindBeforeMinutes, status: status,
                    token: token, feedToken: feedToken, createdAt: now)
                try await queue.apply(planner.subscribed(subscription, start: start, now: now), now: now, in: sql)
                // A new subscription's reminder is the one just written: no need to read it back.
                let state: DeliveryState? = status == .active ? .scheduled : nil
                let view = SubscriptionView(subscription: subscription, remindAt: subscription.remindAt(start: start), reminderState: state)
                try await WebhookOutbox.enqueue(.subscriptionCreated, now: now, in: sql) {
                    [.subscription(.subscriptionCreated, view, owner: owner, at: now)]
                }
                return (view, true)
            }
            guard
                let existing = try await sql.raw(
                    """
                    SELECT \(unsafeRaw: Self.columns) FROM subscriptions \
                    WHERE event_id = \(bind: eventID) AND email_normalized = \(bind: request.email.normalized)
                    """
                ).first().map(Self.subscription(from:))
            else { throw StorageError.missingReturnedRow }
            guard existing.status == .unsubscribed else { return (try await Self.view(existing, start: start, sql: sql), false) }
            // A subscriber who left and comes back starts afresh, with consent asked again when it is required.
            subscription = existing
            subscription.status = status
            subscription.remindBeforeMinutes = request.remindBeforeMinutes
            try await sql.raw(
                """
                UPDATE subscriptions SET status = \(bind: status.rawValue), remind_before_minutes = \(bind: request.remindBeforeMinutes), \
                unsubscribed_at = NULL WHERE id = \(bind: subscription.id)
                """
            ).run()
            try await queue.apply(planner.subscribed(subscription, start: start, now: now), now: now, in: sql)
            let view = try await Self.view(subscription, start: start, sql: sql)
            try await WebhookOutbox.enqueue(.subscriptionCreated, now: now, in: sql) {
                [.subscription(.subscriptionCreated, view, owner: owner, at: now)]
            }
            return (view, true)
        }
    }

    public func subscriptions(eventID: Int64) async throws -> [SubscriptionView] {
        try await store.read { sql in
            guard let start = try await Self.start(of: eventID, lock: "", sql: sql) else { throw AppError.eventNotFound(eventID) }
            let rows = try await sql.raw(
                """
                SELECT s.id, s.event_id, s.email, s.remind_before_minutes, s.status, s.token, s.feed_token, s.created_at, \
                d.state AS reminder_state \
                FROM subscriptions s LEFT JOIN deliveries d ON d.subscription_id = s.id AND d.kind = 'reminder' \
                AND d.event_starts_at = \(bind: start.millisecondsSinceEpoch) \
                WHERE s.event_id = \(bind: eventID) ORDER BY s.id
                """
            ).all()
            return try rows.map { row in
                let subscription = try Self.subscription(from: row)
                let state =
                    try row.decodeNil(column: "reminder_state")
                    ? nil : DeliveryState(rawValue: try row.decode(column: "reminder_state", as: String.self))
                return SubscriptionView(subscription: subscription, remindAt: subscription.remindAt(start: start), reminderState: state)
            }
        }
    }

    public func existing(eventID: Int64, email: EmailAddress) async throws -> SubscriptionView? {
        try await store.read { sql in
            guard
                let subscription = try await sql.raw(
                    """
                    SELECT \(unsafeRaw: Self.columns) FROM subscriptions \
                    WHERE event_id = \(bind: eventID) AND email_normalized = \(bind: email.normalized) AND status <> 'unsubscribed'
                    """
                ).first().map(Self.subscription(from:)),
                let start = try await Self.start(of: eventID, lock: "", sql: sql)
            else { return nil }
            return try await Self.view(subscription, start: start, sql: sql)
        }
    }

    public func unsubscribe(token: String, now: Timestamp) async throws -> Bool {
        let (planner, queue, forUpdate) = (self.planner, self.queue, store.forUpdate)
        return try await store.transaction { sql in
            guard let subscription = try await Self.subscription(token: token, lock: forUpdate, sql: sql) else { return false }
            guard subscription.status != .unsubscribed else { return true }
            // Pending or active: either way consent is withdrawn, and no later link can restore it.
            try await sql.raw(
                """
                UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = \(bind: now.millisecondsSinceEpoch) \
                WHERE id = \(bind: subscription.id)
                """
            ).run()
            try await queue.apply(planner.unsubscribed(subscription), now: now, in: sql)
            if let (start, owner) = try await Self.eventRef(of: subscription.eventID, lock: "", sql: sql) {
                var cancelled = subscription
                cancelled.status = .unsubscribed
                let view = try await Self.view(cancelled, start: start, sql: sql)
                try await WebhookOutbox.enqueue(.subscriptionCancelled, now: now, in: sql) {
                    [.subscription(.subscriptionCancelled, view, owner: owner, at: now)]
                }
            }
            return true
        }
    }

    public func confirm(token: String, now: Timestamp) async throws -> ReminderPlanner.Confirmation? {
        let (planner, queue, forUpdate, forShare) = (self.planner, self.queue, store.forUpdate, store.forShare)
        return try await store.transaction { sql in
            guard let subscription = try await Self.subscription(token: token, lock: forUpdate, sql: sql) else { return nil }
            let event = try await Self.eventRef(of: subscription.eventID, lock: forShare, sql: sql)
            let decision = planner.confirm(subscription, start: event?.start, now: now)
            if case .confirmed(let plan) = decision {
                try await sql.raw("UPDATE subscriptions SET status = 'active' WHERE id = \(bind: subscription.id)").run()
                try await queue.apply(plan, now: now, in: sql)
                if let (start, owner) = event {
                    var confirmed = subscription
                    confirmed.status = .active
                    let view = try await Self.view(confirmed, start: start, sql: sql)
                    try await WebhookOutbox.enqueue(.subscriptionConfirmed, now: now, in: sql) {
                        [.subscription(.subscriptionConfirmed, view, owner: owner, at: now)]
                    }
                }
            }
            return decision
        }
    }

    // MARK: Rows

    static func start(of eventID: Int64, lock: SQLQueryString, sql: any SQLDatabase) async throws -> Timestamp? {
        try await eventRef(of: eventID, lock: lock, sql: sql)?.start
    }

    /// The event's start and owner (whose webhooks hear of its subscriptions).
    static func eventRef(of eventID: Int64, lock: SQLQueryString, sql: any SQLDatabase) async throws -> (start: Timestamp, owner: Int64?)? {
        try await sql.raw("SELECT starts_at, owner_account_id FROM events WHERE id = \(bind: eventID)\(lock)").first().map {
            (
                Timestamp(millisecondsSinceEpoch: try $0.decode(column: "starts_at", as: Int64.self)),
                try $0.decodeNil(column: "owner_account_id") ? nil : try $0.decode(column: "owner_account_id", as: Int64.self)
            )
        }
    }

    static func subscription(token: String, lock: SQLQueryString, sql: any SQLDatabase) async throws -> Subscription? {
        try await sql.raw("SELECT \(unsafeRaw: columns) FROM subscriptions WHERE token = \(bind: token)\(lock)").first()
            .map(subscription(from:))
    }

    static func view(_ subscription: Subscription, start: Timestamp, sql: any SQLDatabase) async throws -> SubscriptionView {
        let row = try await sql.raw(
            """
            SELECT state FROM deliveries WHERE subscription_id = \(bind: subscription.id) AND kind = 'reminder' \
            AND event_starts_at = \(bind: start.millisecondsSinceEpoch)
            """
        ).first()
        let state = try row.flatMap { DeliveryState(rawValue: try $0.decode(column: "state", as: String.self)) }
        return SubscriptionView(subscription: subscription, remindAt: subscription.remindAt(start: start), reminderState: state)
    }

    static func subscription(from row: any SQLRow) throws -> Subscription {
        Subscription(
            id: try row.decode(column: "id", as: Int64.self), eventID: try row.decode(column: "event_id", as: Int64.self),
            email: try row.decode(column: "email", as: String.self),
            remindBeforeMinutes: try row.decode(column: "remind_before_minutes", as: Int64.self),
            status: SubscriptionStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .unsubscribed,
            token: try row.decode(column: "token", as: String.self),
            feedToken: try row.decodeNil(column: "feed_token") ? nil : try row.decode(column: "feed_token", as: String.self),
            createdAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "created_at", as: Int64.self))
        )
    }
}
