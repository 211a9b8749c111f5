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

    static func enqueue(_ notices: [WebhookNotice], now: Timestamp, in sql: any SQLDatabase) async throws {
        let nowMs = now.millisecondsSinceEpoch
        // A bulk write asks once per type whether anyone listens, instead of once per event.
        var listened: [WebhookEventType: Bool] = [:]
        if notices.count > 1 {
            for type in Set(notices.map(\.type)) {
                listened[type] =
                    try await sql.raw(
                        """
                        SELECT 1 AS listening FROM webhooks WHERE disabled_at IS NULL \
                        AND event_types LIKE \(bind: "%," + type.rawValue + ",%") LIMIT 1
                        """
                    ).first() != nil
            }
        }
        for notice in notices where listened[notice.type] ?? true {
            try await sql.raw(
                """
                INSERT INTO webhook_messages (webhook_id, message_id, type, payload, state, attempts, next_attempt_at, \
                created_at, updated_at) \
                SELECT w.id, \(bind: notice.messageID), \(bind: notice.type.rawValue), \
                \(bind: String(decoding: notice.payload, as: UTF8.self)), 'pending', 0, \(bind: nowMs), \(bind: nowMs), \(bind: nowMs) \
                FROM webhooks w JOIN accounts a ON a.id = w.account_id \
                WHERE w.disabled_at IS NULL AND w.event_types LIKE \(bind: "%," + notice.type.rawValue + ",%") \
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
            try await enqueue(notices, now: now, in: sql)
        }
    }
}
