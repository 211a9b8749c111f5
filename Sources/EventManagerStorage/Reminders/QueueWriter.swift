import EventManagerCore
import Foundation
import SQLKit

/// Carries out a `ReminderPlan` inside the caller's transaction, one set-based statement per step.
///
/// However many subscribers an event has, moving it costs the same few statements: the rules
/// were decided by `ReminderPlanner`; this type only knows how to write them.
struct QueueWriter: Sendable {
    let settings: ReminderSettings

    /// The channel `NOTIFY` wakes workers on (PostgreSQL).
    static let notifyChannel = "event_manager_queue"

    func apply(_ plan: ReminderPlan, now: Timestamp, in sql: any SQLDatabase) async throws {
        let nowMs = now.millisecondsSinceEpoch
        for step in plan.steps {
            switch step {
            case .cancelStaleReminders(let eventID, let keeping, let reason):
                try await sql.raw(
                    """
                    UPDATE deliveries SET state = 'cancelled', last_error = \(bind: reason), updated_at = \(bind: nowMs) \
                    WHERE event_id = \(bind: eventID) AND kind = 'reminder' AND state = 'scheduled' \
                    AND event_starts_at <> \(bind: keeping.millisecondsSinceEpoch)
                    """
                ).run()
            case .cancelEventMail(let eventID, let reason):
                try await sql.raw(
                    """
                    UPDATE deliveries SET state = 'cancelled', last_error = \(bind: reason), updated_at = \(bind: nowMs) \
                    WHERE event_id = \(bind: eventID) AND state = 'scheduled'
                    """
                ).run()
            case .cancelSubscriptionMail(let subscriptionID, let reason):
                try await sql.raw(
                    """
                    UPDATE deliveries SET state = 'cancelled', last_error = \(bind: reason), updated_at = \(bind: nowMs) \
                    WHERE subscription_id = \(bind: subscriptionID) AND state = 'scheduled'
                    """
                ).run()
            case .remindSubscribers(let eventID, let start):
                try await remind(subscribers: "s.event_id = \(bind: eventID) AND s.status = 'active'", start: start, now: now, sql: sql)
            case .remind(let subscriptionID, let start):
                try await remind(subscribers: "s.id = \(bind: subscriptionID) AND s.status = 'active'", start: start, now: now, sql: sql)
            case .notifySubscribers(let eventID, let kind, let notice, let start):
                let text = String(decoding: try JSONEncoder().encode(notice), as: UTF8.self)
                try await enqueue(
                    kind, subscribers: "s.event_id = \(bind: eventID) AND s.status = 'active'", start: start, notice: text, now: now,
                    sql: sql)
            case .askConfirmation(let subscriptionID, let start):
                try await enqueue(
                    .confirmation, subscribers: "s.id = \(bind: subscriptionID) AND s.status = 'pending'", start: start, notice: nil,
                    now: now, sql: sql)
            }
        }
        // NOTIFY is transactional: delivered at commit, once however often sent, never for a rollback.
        if let horizon = settings.notifyWithinMilliseconds, let wake = plan.wakeAt, wake <= now.adding(milliseconds: horizon) {
            try await sql.raw("NOTIFY \(unsafeRaw: Self.notifyChannel)").run()
        }
    }

    /// Gives the chosen subscribers a reminder for `start` in one upsert: a missing reminder is
    /// inserted, one for that start that was cancelled or skipped comes back (keeping its
    /// Message-ID), and one scheduled, being sent or sent is left alone. The unique index on
    /// (subscription, start) makes a second reminder for the same start impossible.
    private func remind(subscribers filter: SQLQueryString, start: Timestamp, now: Timestamp, sql: any SQLDatabase) async throws {
        let startMs = start.millisecondsSinceEpoch
        let nowMs = now.millisecondsSinceEpoch
        let due: SQLQueryString = "(\(bind: startMs) - s.remind_before_minutes * 60000)"
        try await sql.raw(
            """
            INSERT INTO deliveries (kind, subscription_id, event_id, email, event_starts_at, due_at, state, attempts, \
            next_attempt_at, message_id, notice, created_at, updated_at) \
            SELECT 'reminder', s.id, s.event_id, s.email, \(bind: startMs), \(due), 'scheduled', 0, \
            CASE WHEN \(due) > \(bind: nowMs) THEN \(due) ELSE \(bind: nowMs) END, \(messageID(.reminder)), NULL, \
            \(bind: nowMs), \(bind: nowMs) FROM subscriptions s WHERE \(filter) \
            ON CONFLICT (subscription_id, event_starts_at) WHERE kind = 'reminder' DO UPDATE SET state = 'scheduled', \
            due_at = excluded.due_at, next_attempt_at = excluded.next_attempt_at, attempts = 0, last_error = NULL, \
            updated_at = excluded.updated_at WHERE deliveries.state IN ('cancelled', 'skipped')
            """
        ).run()
    }

    /// Queues one email of `kind`, due now, for each chosen subscriber.
    private func enqueue(
        _ kind: DeliveryKind, subscribers filter: SQLQueryString, start: Timestamp, notice: String?, now: Timestamp,
        sql: any SQLDatabase
    ) async throws {
        let nowMs = now.millisecondsSinceEpoch
        try await sql.raw(
            """
            INSERT INTO deliveries (kind, subscription_id, event_id, email, event_starts_at, due_at, state, attempts, \
            next_attempt_at, message_id, notice, created_at, updated_at) \
            SELECT \(bind: kind.rawValue), s.id, s.event_id, s.email, \(bind: start.millisecondsSinceEpoch), \(bind: nowMs), \
            'scheduled', 0, \(bind: nowMs), \(messageID(kind)), \(bind: notice), \(bind: nowMs), \(bind: nowMs) \
            FROM subscriptions s WHERE \(filter)
            """
        ).run()
    }

    /// A Message-ID per row: the kind, the subscription and a random part drawn once per statement,
    /// so it is unique and stays the same on every retry of that email.
    private func messageID(_ kind: DeliveryKind) -> SQLQueryString {
        let prefix = "<\(kind.rawValue)."
        let suffix = ".\(RandomToken.make(bytes: 12))@\(settings.messageIDDomain)>"
        return "(\(bind: prefix) || CAST(s.id AS TEXT) || \(bind: suffix))"
    }
}
