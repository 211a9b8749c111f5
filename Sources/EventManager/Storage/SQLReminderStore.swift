import Foundation
import SQLKit

/// What the reminder store needs to know that is not in the rows.
public struct ReminderSettings: Sendable {
    /// Minutes before the start when a subscription does not say (`reminders.default_minutes`).
    public var defaultMinutes: Int64 = 30
    /// Send change and cancellation notices (`reminders.notify_changes`).
    public var notifyChanges = true
    /// The right-hand side of generated Message-IDs.
    public var messageIDDomain = "event-manager.invalid"
    /// Double opt-in (`subscriptions.confirm`): remind only after the address is confirmed.
    public var confirmSubscriptions = false
    /// On PostgreSQL: a write that makes mail due within this many milliseconds sends
    /// `NOTIFY event_manager_queue`, waking sleeping workers on every node. Nil sends none.
    public var notifyWithinMilliseconds: Int64?

    public init(defaultMinutes: Int64 = 30, notifyChanges: Bool = true, messageIDDomain: String = "event-manager.invalid") {
        self.defaultMinutes = defaultMinutes
        self.notifyChanges = notifyChanges
        self.messageIDDomain = messageIDDomain
    }
}

/// Subscriptions and the delivery queue in SQL, for SQLite and PostgreSQL alike.
///
/// Also the event repository's observer: moving or deleting an event reschedules, cancels and
/// announces in the transaction that changes the event, so the queue never disagrees with it.
public struct SQLReminderStore: SubscriptionRepository, DeliveryQueue, EventChangeObserver {
    let store: DatabaseStore
    let settings: ReminderSettings

    public init(store: DatabaseStore, settings: ReminderSettings) {
        self.store = store
        self.settings = settings
    }

    static let subscriptionColumns = "id, event_id, email, remind_before_minutes, status, token, created_at"

    // MARK: Subscriptions

    public func subscribe(eventID: Int64, request: SubscriptionRequest, now: Timestamp) async throws -> (SubscriptionView, created: Bool) {
        let settings = self.settings
        let forShare = store.forShare
        return try await store.transaction { sql in
            // The share lock waits for a concurrent move of the event, so the reminder is written for its final time.
            guard
                let eventRow = try await sql.raw("SELECT starts_at FROM events WHERE id = \(bind: eventID)\(forShare)").first()
            else { throw AppError.eventNotFound(eventID) }
            let start = Timestamp(millisecondsSinceEpoch: try eventRow.decode(column: "starts_at", as: Int64.self))
            guard now < start else {
                throw AppError(
                    .conflict, code: "event_started",
                    message: "event \(eventID) started at \(start.rfc3339); it takes no more subscriptions")
            }
            // The insert is the duplicate check: a concurrent subscription of the same address
            // waits on the unique index and then finds this one, on both databases.
            let token = Self.randomToken()
            let status: SubscriptionStatus = settings.confirmSubscriptions ? .pending : .active
            let inserted = try await sql.raw(
                """
                INSERT INTO subscriptions (event_id, email, email_normalized, remind_before_minutes, status, token, created_at) \
                VALUES (\(bind: eventID), \(bind: request.email.value), \(bind: request.email.normalized), \
                \(bind: request.remindBeforeMinutes), \(bind: status.rawValue), \(bind: token), \(bind: now.millisecondsSinceEpoch)) \
                ON CONFLICT (event_id, email_normalized) DO NOTHING RETURNING id
                """
            ).first()
            var subscription: Subscription
            let isNew: Bool
            if let id = try inserted?.decode(column: "id", as: Int64.self) {
                isNew = true
                subscription = Subscription(
                    id: id, eventID: eventID, email: request.email.value, remindBeforeMinutes: request.remindBeforeMinutes, status: status,
                    token: token, createdAt: now
                )
            } else {
                isNew = false
                guard
                    var existing = try await sql.raw(
                        """
                        SELECT \(unsafeRaw: Self.subscriptionColumns) FROM subscriptions \
                        WHERE event_id = \(bind: eventID) AND email_normalized = \(bind: request.email.normalized)
                        """
                    ).first().map(Self.subscription(from:))
                else { throw StorageError.missingReturnedRow }
                if existing.status != .unsubscribed {
                    return (try await Self.view(existing, start: start, sql: sql), false)
                }
                existing.status = status
                existing.remindBeforeMinutes = request.remindBeforeMinutes
                try await sql.raw(
                    """
                    UPDATE subscriptions SET status = \(bind: existing.status.rawValue), \
                    remind_before_minutes = \(bind: request.remindBeforeMinutes), unsubscribed_at = NULL WHERE id = \(bind: existing.id)
                    """
                ).run()
                subscription = existing
            }
            let next: Timestamp?
            if subscription.status == .pending {
                next = try await Self.insertDelivery(
                    kind: .confirmation, subscription: subscription, start: start, due: now, next: now, notice: nil, now: now, sql: sql,
                    settings: settings
                )
            } else if isNew {
                // A new subscription has no reminder yet: no need to look for one.
                let due = subscription.remindAt(start: start)
                next = try await Self.insertDelivery(
                    kind: .reminder, subscription: subscription, start: start, due: due, next: max(due, now), notice: nil, now: now,
                    sql: sql, settings: settings
                )
            } else {
                next = try await Self.scheduleReminder(for: subscription, start: start, now: now, sql: sql, settings: settings)
            }
            try await Self.wakeWorkers(ifDue: next, now: now, sql: sql, settings: settings)
            let state: DeliveryState? = subscription.status == .active && next != nil ? .scheduled : nil
            let view =
                isNew
                ? SubscriptionView(subscription: subscription, remindAt: subscription.remindAt(start: start), reminderState: state)
                : try await Self.view(subscription, start: start, sql: sql)
            return (view, true)
        }
    }

    public func subscriptions(eventID: Int64) async throws -> [SubscriptionView] {
        let sql = try store.sql()
        guard let eventRow = try await sql.raw("SELECT starts_at FROM events WHERE id = \(bind: eventID)").first() else {
            throw AppError.eventNotFound(eventID)
        }
        let start = Timestamp(millisecondsSinceEpoch: try eventRow.decode(column: "starts_at", as: Int64.self))
        let rows = try await sql.raw(
            """
            SELECT s.id, s.event_id, s.email, s.remind_before_minutes, s.status, s.token, s.created_at, d.state AS reminder_state \
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

    public func unsubscribe(token: String, now: Timestamp) async throws -> Bool {
        let forUpdate = store.forUpdate
        return try await store.transaction { sql in
            guard
                let row = try await sql.raw("SELECT id, status FROM subscriptions WHERE token = \(bind: token)\(forUpdate)").first()
            else { return false }
            let id = try row.decode(column: "id", as: Int64.self)
            try await sql.raw(
                """
                UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = \(bind: now.millisecondsSinceEpoch) \
                WHERE id = \(bind: id) AND status = 'active'
                """
            ).run()
            try await sql.raw(
                """
                UPDATE deliveries SET state = 'cancelled', last_error = 'subscriber unsubscribed', \
                updated_at = \(bind: now.millisecondsSinceEpoch) WHERE subscription_id = \(bind: id) AND state = 'scheduled'
                """
            ).run()
            return true
        }
    }

    public func confirm(token: String, now: Timestamp) async throws -> Bool {
        let settings = self.settings
        let forUpdate = store.forUpdate
        let forShare = store.forShare
        return try await store.transaction { sql in
            guard
                let row = try await sql.raw(
                    "SELECT \(unsafeRaw: Self.subscriptionColumns) FROM subscriptions WHERE token = \(bind: token)\(forUpdate)"
                ).first()
            else { return false }
            var subscription = try Self.subscription(from: row)
            guard subscription.status == .pending else { return true }
            subscription.status = .active
            try await sql.raw("UPDATE subscriptions SET status = 'active' WHERE id = \(bind: subscription.id)").run()
            if let event = try await sql.raw("SELECT starts_at FROM events WHERE id = \(bind: subscription.eventID)\(forShare)").first() {
                let start = Timestamp(millisecondsSinceEpoch: try event.decode(column: "starts_at", as: Int64.self))
                if now < start {
                    let next = try await Self.scheduleReminder(for: subscription, start: start, now: now, sql: sql, settings: settings)
                    try await Self.wakeWorkers(ifDue: next, now: now, sql: sql, settings: settings)
                }
            }
            return true
        }
    }

    // MARK: Event changes

    public func eventChanged(from old: Event, to new: Event, now: Timestamp, in sql: any SQLDatabase) async throws {
        let moved = old.startsAt != new.startsAt
        let relocated = old.location != new.location
        guard moved || relocated else { return }
        let subscriptions = try await Self.activeSubscriptions(eventID: new.id, sql: sql)
        if moved {
            try await sql.raw(
                """
                UPDATE deliveries SET state = 'cancelled', last_error = 'event moved', updated_at = \(bind: now.millisecondsSinceEpoch) \
                WHERE event_id = \(bind: new.id) AND kind = 'reminder' AND state = 'scheduled' \
                AND event_starts_at <> \(bind: new.startsAt.millisecondsSinceEpoch)
                """
            ).run()
            if now < new.startsAt {
                var earliest: Timestamp?
                for subscription in subscriptions {
                    if let next = try await Self.scheduleReminder(
                        for: subscription, start: new.startsAt, now: now, sql: sql, settings: settings)
                    {
                        earliest = min(earliest ?? next, next)
                    }
                }
                try await Self.wakeWorkers(ifDue: earliest, now: now, sql: sql, settings: settings)
            }
        }
        guard settings.notifyChanges else { return }
        let notice = NoticeSnapshot(
            title: new.title, location: new.location, startsAt: new.startsAt.millisecondsSinceEpoch, timeZone: new.timeZone.identifier,
            previousLocation: relocated ? old.location : nil, previousStartsAt: moved ? old.startsAt.millisecondsSinceEpoch : nil,
            revision: try await Self.revision(of: new.id, sql: sql)
        )
        for subscription in subscriptions {
            try await Self.enqueueNotice(.change, notice, for: subscription, start: new.startsAt, now: now, sql: sql, settings: settings)
        }
        if !subscriptions.isEmpty { try await Self.wakeWorkers(ifDue: now, now: now, sql: sql, settings: settings) }
    }

    public func eventsDeleted(_ events: [Event], now: Timestamp, in sql: any SQLDatabase) async throws {
        for event in events {
            let subscriptions = try await Self.activeSubscriptions(eventID: event.id, sql: sql)
            try await sql.raw(
                """
                UPDATE deliveries SET state = 'cancelled', last_error = 'event deleted', updated_at = \(bind: now.millisecondsSinceEpoch) \
                WHERE event_id = \(bind: event.id) AND state = 'scheduled'
                """
            ).run()
            guard settings.notifyChanges, now < event.startsAt else { continue }
            let notice = NoticeSnapshot(
                title: event.title, location: event.location, startsAt: event.startsAt.millisecondsSinceEpoch,
                timeZone: event.timeZone.identifier, revision: try await Self.revision(of: event.id, sql: sql) + 1
            )
            for subscription in subscriptions {
                try await Self.enqueueNotice(
                    .cancellation, notice, for: subscription, start: event.startsAt, now: now, sql: sql, settings: settings)
            }
            if !subscriptions.isEmpty { try await Self.wakeWorkers(ifDue: now, now: now, sql: sql, settings: settings) }
        }
    }

    // MARK: Queue

    static let deliveryColumns =
        "id, kind, subscription_id, event_id, email, event_starts_at, due_at, state, attempts, next_attempt_at, message_id, notice"

    public func claim(owner: String, limit: Int, now: Timestamp, leaseMilliseconds: Int64) async throws -> [ClaimedDelivery] {
        let isSQLite = store.isSQLite
        let claimed: [Delivery] = try await store.transaction { sql in
            let nowMs = now.millisecondsSinceEpoch
            let lock: SQLQueryString = isSQLite ? "" : " FOR UPDATE SKIP LOCKED"
            let rows = try await sql.raw(
                """
                UPDATE deliveries SET state = 'sending', lease_owner = \(bind: owner), \
                lease_expires_at = \(bind: nowMs + leaseMilliseconds), attempts = attempts + 1, updated_at = \(bind: nowMs) \
                WHERE id IN (SELECT id FROM deliveries WHERE (state = 'scheduled' AND next_attempt_at <= \(bind: nowMs)) \
                OR (state = 'sending' AND lease_expires_at <= \(bind: nowMs)) ORDER BY next_attempt_at, id LIMIT \(literal: limit)\(lock)) \
                RETURNING \(unsafeRaw: Self.deliveryColumns)
                """
            ).all()
            return try rows.map(Self.delivery(from:)).sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
        }
        guard !claimed.isEmpty else { return [] }
        let sql = try store.sql()
        let eventIDs = Array(Set(claimed.map(\.eventID)))
        let subscriptionIDs = Array(Set(claimed.map(\.subscriptionID)))
        var events: [Int64: (Event, Int64)] = [:]
        for row in try await sql.raw(
            "SELECT \(unsafeRaw: SQLEventRepository.columns), revision FROM events WHERE id IN (\(binds: eventIDs))"
        ).all() {
            let event = try SQLEventRepository.event(from: row)
            events[event.id] = (event, try row.decode(column: "revision", as: Int64.self))
        }
        var subscriptions: [Int64: Subscription] = [:]
        for row in try await sql.raw(
            "SELECT \(unsafeRaw: Self.subscriptionColumns) FROM subscriptions WHERE id IN (\(binds: subscriptionIDs))"
        ).all() {
            let subscription = try Self.subscription(from: row)
            subscriptions[subscription.id] = subscription
        }
        return claimed.map { delivery in
            let subscription = subscriptions[delivery.subscriptionID]
            return ClaimedDelivery(
                delivery: delivery, event: events[delivery.eventID]?.0, eventRevision: events[delivery.eventID]?.1 ?? 0,
                subscriptionActive: subscription?.status == .active, subscriptionPending: subscription?.status == .pending,
                unsubscribeToken: subscription?.token,
                remindBeforeMinutes: subscription?.remindBeforeMinutes ?? settings.defaultMinutes
            )
        }
    }

    public func complete(_ outcomes: [(id: Int64, outcome: DeliveryOutcome)], owner: String, now: Timestamp) async throws {
        guard !outcomes.isEmpty else { return }
        try await store.transaction { sql in
            let nowMs = now.millisecondsSinceEpoch
            for (id, outcome) in outcomes {
                let assignments: SQLQueryString
                switch outcome {
                case .sent(let at):
                    assignments = "state = 'sent', sent_at = \(bind: at.millisecondsSinceEpoch), last_error = NULL"
                case .retry(let at, let error):
                    assignments =
                        "state = 'scheduled', next_attempt_at = \(bind: at.millisecondsSinceEpoch), last_error = \(bind: String(error.prefix(1000)))"
                case .failed(let error):
                    assignments = "state = 'failed', last_error = \(bind: String(error.prefix(1000)))"
                case .skipped(let reason):
                    assignments = "state = 'skipped', last_error = \(bind: reason)"
                case .cancelled(let reason):
                    assignments = "state = 'cancelled', last_error = \(bind: reason)"
                }
                try await sql.raw(
                    """
                    UPDATE deliveries SET \(assignments), lease_owner = NULL, lease_expires_at = NULL, updated_at = \(bind: nowMs) \
                    WHERE id = \(bind: id) AND state = 'sending' AND lease_owner = \(bind: owner)
                    """
                ).run()
            }
        }
    }

    public func renew(_ ids: [Int64], owner: String, until: Timestamp) async throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        let rows = try await store.write { sql in
            try await sql.raw(
                """
                UPDATE deliveries SET lease_expires_at = \(bind: until.millisecondsSinceEpoch) \
                WHERE id IN (\(binds: ids)) AND state = 'sending' AND lease_owner = \(bind: owner) RETURNING id
                """
            ).all()
        }
        return Set(try rows.map { try $0.decode(column: "id", as: Int64.self) })
    }

    public func nextWakeUp() async throws -> Timestamp? {
        // Two MINs that each read one end of an index, instead of one over every pending row.
        let row = try await store.sql().raw(
            """
            SELECT (SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'scheduled') AS scheduled, \
            (SELECT MIN(lease_expires_at) FROM deliveries WHERE state = 'sending') AS leased
            """
        ).first()
        guard let row else { return nil }
        let times = try ["scheduled", "leased"].compactMap { column in
            try row.decodeNil(column: column) ? nil : try row.decode(column: column, as: Int64.self)
        }
        return times.min().map(Timestamp.init(millisecondsSinceEpoch:))
    }

    public func countsByState() async throws -> [DeliveryState: Int] {
        var counts: [DeliveryState: Int] = [:]
        for row in try await store.sql().raw("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state").all() {
            if let state = DeliveryState(rawValue: try row.decode(column: "state", as: String.self)) {
                counts[state] = try row.decode(column: "n", as: Int.self)
            }
        }
        return counts
    }

    // MARK: Helpers

    /// Writes the reminder for `subscription` at `start`; a reminder for the same start that was
    /// cancelled comes back, one already sent is not sent again.
    /// - Returns: when the scheduled reminder is due, or nil when nothing was scheduled.
    @discardableResult
    static func scheduleReminder(
        for subscription: Subscription, start: Timestamp, now: Timestamp, sql: any SQLDatabase, settings: ReminderSettings
    ) async throws -> Timestamp? {
        let due = subscription.remindAt(start: start)
        let next = max(due, now)
        let existing = try await sql.raw(
            """
            SELECT id, state FROM deliveries WHERE subscription_id = \(bind: subscription.id) AND kind = 'reminder' \
            AND event_starts_at = \(bind: start.millisecondsSinceEpoch)
            """
        ).first()
        if let existing {
            let state = try existing.decode(column: "state", as: String.self)
            guard state == DeliveryState.cancelled.rawValue || state == DeliveryState.skipped.rawValue else { return nil }
            try await sql.raw(
                """
                UPDATE deliveries SET state = 'scheduled', due_at = \(bind: due.millisecondsSinceEpoch), \
                next_attempt_at = \(bind: next.millisecondsSinceEpoch), attempts = 0, last_error = NULL, \
                updated_at = \(bind: now.millisecondsSinceEpoch) WHERE id = \(bind: try existing.decode(column: "id", as: Int64.self))
                """
            ).run()
            return next
        }
        return try await insertDelivery(
            kind: .reminder, subscription: subscription, start: start, due: due, next: next, notice: nil, now: now, sql: sql,
            settings: settings
        )
    }

    static func enqueueNotice(
        _ kind: DeliveryKind, _ notice: NoticeSnapshot, for subscription: Subscription, start: Timestamp, now: Timestamp,
        sql: any SQLDatabase, settings: ReminderSettings
    ) async throws {
        try await insertDelivery(
            kind: kind, subscription: subscription, start: start, due: now, next: now, notice: notice, now: now, sql: sql,
            settings: settings
        )
    }

    @discardableResult
    static func insertDelivery(
        kind: DeliveryKind, subscription: Subscription, start: Timestamp, due: Timestamp, next: Timestamp, notice: NoticeSnapshot?,
        now: Timestamp, sql: any SQLDatabase, settings: ReminderSettings
    ) async throws -> Timestamp {
        let noticeText = try notice.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let messageID = "<\(kind.rawValue).\(randomToken(bytes: 16))@\(settings.messageIDDomain)>"
        try await sql.raw(
            """
            INSERT INTO deliveries (kind, subscription_id, event_id, email, event_starts_at, due_at, state, attempts, \
            next_attempt_at, message_id, notice, created_at, updated_at) VALUES (\(bind: kind.rawValue), \(bind: subscription.id), \
            \(bind: subscription.eventID), \(bind: subscription.email), \(bind: start.millisecondsSinceEpoch), \
            \(bind: due.millisecondsSinceEpoch), 'scheduled', 0, \(bind: next.millisecondsSinceEpoch), \(bind: messageID), \
            \(bind: noticeText), \(bind: now.millisecondsSinceEpoch), \(bind: now.millisecondsSinceEpoch))
            """
        ).run()
        return next
    }

    static let notifyChannel = "event_manager_queue"

    /// Tells listening workers that mail falls due soon. NOTIFY is transactional: it is delivered
    /// at commit, once per transaction however often it is sent, and never for a rollback.
    static func wakeWorkers(ifDue next: Timestamp?, now: Timestamp, sql: any SQLDatabase, settings: ReminderSettings) async throws {
        guard let horizon = settings.notifyWithinMilliseconds, let next, next <= now.adding(milliseconds: horizon) else { return }
        try await sql.raw("NOTIFY \(unsafeRaw: notifyChannel)").run()
    }

    static func revision(of eventID: Int64, sql: any SQLDatabase) async throws -> Int64 {
        try await sql.raw("SELECT revision FROM events WHERE id = \(bind: eventID)").first()?.decode(column: "revision", as: Int64.self)
            ?? 0
    }

    static func activeSubscriptions(eventID: Int64, sql: any SQLDatabase) async throws -> [Subscription] {
        try await sql.raw(
            "SELECT \(unsafeRaw: subscriptionColumns) FROM subscriptions WHERE event_id = \(bind: eventID) AND status = 'active' ORDER BY id"
        ).all().map(subscription(from:))
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
            createdAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "created_at", as: Int64.self))
        )
    }

    static func delivery(from row: any SQLRow) throws -> Delivery {
        let noticeText = try row.decodeNil(column: "notice") ? nil : try row.decode(column: "notice", as: String.self)
        return Delivery(
            id: try row.decode(column: "id", as: Int64.self),
            kind: DeliveryKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .reminder,
            subscriptionID: try row.decode(column: "subscription_id", as: Int64.self),
            eventID: try row.decode(column: "event_id", as: Int64.self), email: try row.decode(column: "email", as: String.self),
            eventStartsAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "event_starts_at", as: Int64.self)),
            dueAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "due_at", as: Int64.self)),
            state: DeliveryState(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed,
            attempts: try row.decode(column: "attempts", as: Int.self),
            nextAttemptAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "next_attempt_at", as: Int64.self)),
            messageID: try row.decode(column: "message_id", as: String.self),
            notice: try noticeText.map { try JSONDecoder().decode(NoticeSnapshot.self, from: Data($0.utf8)) }
        )
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// A URL-safe random string; 32 bytes (256 bits) by default.
    static func randomToken(bytes count: Int = 32) -> String {
        Data(randomBytes(count)).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
