import EventManagerCore
import Foundation
import SQLKit

/// The durable queue of emails in SQL, shared by every worker through the database.
///
/// Claims take due rows under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers never
/// wait for each other); outcomes and lease renewals only touch rows the worker still holds.
public struct SQLDeliveryQueue: DeliveryQueue {
    let store: DatabaseStore

    public init(store: DatabaseStore) {
        self.store = store
    }

    static let deliveryColumns =
        "id, kind, subscription_id, event_id, email, event_starts_at, due_at, state, attempts, next_attempt_at, message_id, notice"

    public func claim(owner: String, limit: Int, now: Timestamp, dueBy: Timestamp, leaseMilliseconds: Int64) async throws
        -> [ClaimedDelivery]
    {
        let isSQLite = store.isSQLite
        let claimed: [Delivery] = try await store.transaction { sql in
            let nowMs = now.millisecondsSinceEpoch
            let lock: SQLQueryString = isSQLite ? "" : " FOR UPDATE SKIP LOCKED"
            let rows = try await sql.raw(
                """
                UPDATE deliveries SET state = 'sending', lease_owner = \(bind: owner), \
                lease_expires_at = \(bind: nowMs + leaseMilliseconds), attempts = attempts + 1, updated_at = \(bind: nowMs) \
                WHERE id IN (SELECT id FROM deliveries WHERE (state = 'scheduled' AND next_attempt_at <= \(bind: dueBy.millisecondsSinceEpoch)) \
                OR (state = 'sending' AND lease_expires_at <= \(bind: nowMs)) ORDER BY next_attempt_at, id LIMIT \(literal: limit)\(lock)) \
                RETURNING \(unsafeRaw: Self.deliveryColumns)
                """
            ).all()
            return try rows.map(Self.delivery(from:)).sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
        }
        guard !claimed.isEmpty else { return [] }
        return try await store.read { sql in try await Self.withContext(claimed, sql: sql) }
    }

    /// The events and subscriptions the claimed deliveries need, read in two queries.
    private static func withContext(_ claimed: [Delivery], sql: any SQLDatabase) async throws -> [ClaimedDelivery] {
        let eventIDs = Array(Set(claimed.map(\.eventID)))
        let subscriptionIDs = Array(Set(claimed.map(\.subscriptionID)))
        var events: [Int64: (Event, Int64)] = [:]
        for row in try await sql.raw(
            "SELECT \(unsafeRaw: SQLEventRepository.columns) FROM events WHERE id IN (\(binds: eventIDs))"
        ).all() {
            let event = try SQLEventRepository.event(from: row)
            events[event.id] = (event, event.revision)
        }
        var subscriptions: [Int64: Subscription] = [:]
        for row in try await sql.raw(
            "SELECT \(unsafeRaw: SQLSubscriptionStore.columns) FROM subscriptions WHERE id IN (\(binds: subscriptionIDs))"
        ).all() {
            let subscription = try SQLSubscriptionStore.subscription(from: row)
            subscriptions[subscription.id] = subscription
        }
        return claimed.map { delivery in
            let subscription = subscriptions[delivery.subscriptionID]
            return ClaimedDelivery(
                delivery: delivery, event: events[delivery.eventID]?.0, eventRevision: events[delivery.eventID]?.1 ?? 0,
                subscriptionActive: subscription?.status == .active, subscriptionPending: subscription?.status == .pending,
                unsubscribeToken: subscription?.token, calendarToken: subscription?.feedToken
            )
        }
    }

    /// One statement per 500 outcomes, whatever their kinds: the outcomes travel as a VALUES list.
    ///
    /// PostgreSQL joins it to the rows (UPDATE ... FROM, a hash join). SQLite looks each row's
    /// outcome up by id instead: its plan for UPDATE ... FROM builds a Bloom filter over the
    /// whole table, a second per statement at 10,000,000 deliveries (Benchmarks/retention.sh).
    public func complete(_ outcomes: [(id: Int64, outcome: DeliveryOutcome)], owner: String, now: Timestamp) async throws {
        guard !outcomes.isEmpty else { return }
        let isSQLite = store.isSQLite
        // Sent and failed reminders are announced to webhooks in the same transaction.
        let finished = outcomes.compactMap { entry -> Int64? in
            switch entry.outcome {
            case .sent, .failed: entry.id
            default: nil
            }
        }
        try await store.transaction { sql in
            var announced: [Int64] = []
            for start in stride(from: 0, to: outcomes.count, by: 500) {
                var rows: [SQLQueryString] = []
                for (id, outcome) in outcomes[start..<min(outcomes.count, start + 500)] {
                    let row = Self.row(outcome)
                    rows.append(
                        """
                        (CAST(\(bind: id) AS BIGINT), CAST(\(bind: row.state) AS TEXT), CAST(\(bind: row.sentAt) AS BIGINT), \
                        CAST(\(bind: row.nextAttemptAt) AS BIGINT), CAST(\(bind: row.error) AS TEXT), CAST(\(bind: row.refund) AS BIGINT))
                        """)
                }
                let values: SQLQueryString =
                    "WITH v(id, state, sent_at, next_attempt_at, last_error, refund) AS MATERIALIZED (VALUES \(rows.joined(separator: ", "))) "
                if isSQLite {
                    announced += try await sql.raw(
                        """
                        \(values)UPDATE deliveries SET (state, sent_at, next_attempt_at, last_error, attempts) = \
                        (SELECT v.state, COALESCE(v.sent_at, deliveries.sent_at), COALESCE(v.next_attempt_at, deliveries.next_attempt_at), \
                        v.last_error, deliveries.attempts - v.refund FROM v WHERE v.id = deliveries.id), \
                        lease_owner = NULL, lease_expires_at = NULL, updated_at = \(bind: now.millisecondsSinceEpoch) \
                        WHERE id IN (SELECT id FROM v) AND state = 'sending' AND lease_owner = \(bind: owner) RETURNING id
                        """
                    ).all().map { try $0.decode(column: "id", as: Int64.self) }
                } else {
                    announced += try await sql.raw(
                        """
                        \(values)UPDATE deliveries SET state = v.state, sent_at = COALESCE(v.sent_at, deliveries.sent_at), \
                        next_attempt_at = COALESCE(v.next_attempt_at, deliveries.next_attempt_at), last_error = v.last_error, \
                        attempts = deliveries.attempts - v.refund, lease_owner = NULL, lease_expires_at = NULL, \
                        updated_at = \(bind: now.millisecondsSinceEpoch) \
                        FROM v WHERE deliveries.id = v.id AND deliveries.state = 'sending' AND deliveries.lease_owner = \(bind: owner) \
                        RETURNING deliveries.id
                        """
                    ).all().map { try $0.decode(column: "id", as: Int64.self) }
                }
            }
            // Only what this worker's lease still held: a lost lease's outcome is someone else's to announce.
            let updated = Set(announced)
            try await WebhookOutbox.remindersFinished(finished.filter(updated.contains), now: now, in: sql)
        }
    }

    /// The columns an outcome sets.
    private static func row(_ outcome: DeliveryOutcome) -> (
        state: String, sentAt: Int64?, nextAttemptAt: Int64?, error: String?, refund: Int64
    ) {
        switch outcome {
        case .sent(let at): ("sent", at.millisecondsSinceEpoch, nil, nil, 0)
        case .retry(let at, let error): ("scheduled", nil, at.millisecondsSinceEpoch, String(error.prefix(1000)), 0)
        case .failed(let error): ("failed", nil, nil, String(error.prefix(1000)), 0)
        case .skipped(let reason): ("skipped", nil, nil, reason, 0)
        case .cancelled(let reason): ("cancelled", nil, nil, reason, 0)
        // The claim counted an attempt the outage did not really make.
        case .deferred(let at, let error): ("scheduled", nil, at.millisecondsSinceEpoch, String(error.prefix(1000)), 1)
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
        let row = try await store.read { sql in
            try await sql.raw(
                """
                SELECT (SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'scheduled') AS scheduled, \
                (SELECT MIN(lease_expires_at) FROM deliveries WHERE state = 'sending') AS leased
                """
            ).first()
        }
        guard let row else { return nil }
        let times = try ["scheduled", "leased"].compactMap { column in
            try row.decodeNil(column: column) ? nil : try row.decode(column: column, as: Int64.self)
        }
        return times.min().map(Timestamp.init(millisecondsSinceEpoch:))
    }

    public func countsByState() async throws -> [DeliveryState: Int] {
        var counts: [DeliveryState: Int] = [:]
        // Each count reads one partial index: the work waiting, not the history. SQLite is told
        // which: its planner would rather scan a covering index of every row (10 s at 10,000,000
        // finished deliveries, measured by Benchmarks/retention.sh).
        let scheduled: SQLQueryString = store.isSQLite ? " INDEXED BY deliveries_scheduled_idx" : ""
        let leased: SQLQueryString = store.isSQLite ? " INDEXED BY deliveries_leased_idx" : ""
        let rows = try await store.read {
            try await $0.raw(
                """
                SELECT 'scheduled' AS state, COUNT(*) AS n FROM deliveries\(scheduled) WHERE state = 'scheduled' \
                UNION ALL SELECT 'sending' AS state, COUNT(*) AS n FROM deliveries\(leased) WHERE state = 'sending'
                """
            ).all()
        }
        for row in rows {
            if let state = DeliveryState(rawValue: try row.decode(column: "state", as: String.self)) {
                counts[state] = try row.decode(column: "n", as: Int.self)
            }
        }
        return counts
    }

    public func purge(finishedBefore cutoff: Timestamp, limit: Int) async throws -> Int {
        try await store.write { sql in
            try await sql.raw(
                """
                DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
                WHERE state IN ('sent', 'failed', 'skipped', 'cancelled') AND updated_at < \(bind: cutoff.millisecondsSinceEpoch) \
                ORDER BY updated_at LIMIT \(literal: limit)) RETURNING id
                """
            ).all().count
        }
    }

    public func recordAccepted(_ accepted: [(id: Int64, at: Timestamp)], now: Timestamp) async throws {
        guard !accepted.isEmpty else { return }
        try await store.transaction { sql in
            var changed: [Int64] = []
            for (id, at) in accepted {
                changed += try await sql.raw(
                    """
                    UPDATE deliveries SET state = 'sent', sent_at = \(bind: at.millisecondsSinceEpoch), last_error = NULL, \
                    lease_owner = NULL, lease_expires_at = NULL, updated_at = \(bind: now.millisecondsSinceEpoch) \
                    WHERE id = \(bind: id) AND state IN ('scheduled', 'sending') RETURNING id
                    """
                ).all().map { try $0.decode(column: "id", as: Int64.self) }
            }
            try await WebhookOutbox.remindersFinished(changed, now: now, in: sql)
        }
    }

    public func release(owner: String, now: Timestamp) async throws {
        try await store.write { sql in
            try await sql.raw(
                """
                UPDATE deliveries SET state = 'scheduled', lease_owner = NULL, lease_expires_at = NULL, \
                updated_at = \(bind: now.millisecondsSinceEpoch) WHERE state = 'sending' AND lease_owner = \(bind: owner)
                """
            ).run()
        }
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
}
