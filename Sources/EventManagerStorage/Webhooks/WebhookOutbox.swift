import EventManagerCore
import Foundation
import SQLKit

/// Writes webhook notices into the message table inside the caller's transaction.
///
/// One set-based statement per notice: a row for every active endpoint that wants its type and
/// may hear of it (its owner's endpoints and every admin's). With no endpoint registered it
/// inserts nothing, so writes without webhooks pay one read of a small table.
enum WebhookOutbox {
    /// The ledger's columns, of the deliveries table.
    static let ledgerColumns = SQLDeliveryLedger.columns.split(separator: ",")
        .map { "d." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")

    /// Writes the notices `make` builds, if any endpoint listens to `type`; they are not even
    /// rendered otherwise (rendering a whole resource per write was 5 % of `POST /events`).
    ///
    /// The type goes into the statement's text rather than a bind: SQLite prepares a `LIKE`
    /// with a bound pattern again at every execution (its plan may depend on the pattern).
    static func enqueue(
        _ type: WebhookEventType, now: Timestamp, in sql: any SQLDatabase, _ make: () -> [WebhookNotice]
    ) async throws {
        let pattern = SQLQueryString("'%,\(unsafeRaw: type.rawValue),%'")
        guard
            try await sql.raw(
                "SELECT 1 AS listening FROM webhooks WHERE disabled_at IS NULL AND event_types LIKE \(pattern) LIMIT 1"
            ).first() != nil
        else { return }
        let nowMs = now.millisecondsSinceEpoch
        for notice in make() {
            try await sql.raw(
                """
                INSERT INTO webhook_messages (webhook_id, message_id, type, payload, state, attempts, next_attempt_at, \
                created_at, updated_at) \
                SELECT w.id, \(bind: notice.messageID), \(bind: notice.type.rawValue), \
                \(bind: String(decoding: notice.payload, as: UTF8.self)), 'pending', 0, \(bind: nowMs), \(bind: nowMs), \(bind: nowMs) \
                FROM webhooks w JOIN accounts a ON a.id = w.account_id \
                WHERE w.disabled_at IS NULL AND w.event_types LIKE \(pattern) \
                AND (a.role = 'admin' OR w.account_id = \(bind: notice.ownerAccountID))
                """
            ).run()
        }
    }

    /// Announces the reminders among `ids` that were just sent or failed, as the ledger shows
    /// them, if any endpoint listens to reminders at all.
    static func remindersFinished(_ ids: [Int64], now: Timestamp, in sql: any SQLDatabase) async throws {
        guard !ids.isEmpty,
            try await sql.raw(
                "SELECT 1 AS listening FROM webhooks WHERE disabled_at IS NULL AND event_types LIKE '%,reminder.%' LIMIT 1"
            ).first() != nil
        else { return }
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = Array(ids[start..<min(ids.count, start + 500)])
            let rows = try await sql.raw(
                """
                SELECT \(unsafeRaw: ledgerColumns), \
                e.owner_account_id FROM deliveries d LEFT JOIN events e ON e.id = d.event_id \
                WHERE d.id IN (\(binds: chunk)) AND d.kind = 'reminder' AND d.state IN ('sent', 'failed')
                """
            ).all()
            let notices = try rows.compactMap { row -> WebhookNotice? in
                let owner = try row.decodeNil(column: "owner_account_id") ? nil : try row.decode(column: "owner_account_id", as: Int64.self)
                return WebhookNotice.reminder(try SQLDeliveryLedger.record(from: row), owner: owner, at: now)
            }
            for type in [WebhookEventType.reminderSent, .reminderFailed] {
                try await enqueue(type, now: now, in: sql) { notices.filter { $0.type == type } }
            }
        }
    }
}
