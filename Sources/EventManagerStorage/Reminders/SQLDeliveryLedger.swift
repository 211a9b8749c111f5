import EventManagerCore
import SQLKit

/// The ledger of deliveries over the queue's table, for SQLite and PostgreSQL alike.
public struct SQLDeliveryLedger: DeliveryLedger {
    let store: DatabaseStore

    public init(store: DatabaseStore) {
        self.store = store
    }

    static let columns =
        "id, kind, event_id, subscription_id, email, state, due_at, sent_at, attempts, next_attempt_at, last_error, message_id, created_at, updated_at"

    public func deliveries(_ query: DeliveryListQuery) async throws -> [DeliveryRecord] {
        let state: SQLQueryString = query.state.map { " AND state = \(bind: $0.rawValue)" } ?? ""
        let after: SQLQueryString = query.afterID.map { " AND id > \(bind: $0)" } ?? ""
        let rows = try await store.read { sql in
            try await sql.raw(
                """
                SELECT \(unsafeRaw: Self.columns) FROM deliveries WHERE event_id = \(bind: query.eventID)\(state)\(after) \
                ORDER BY id LIMIT \(literal: query.limit + 1)
                """
            ).all()
        }
        return try rows.map(Self.record(from:))
    }

    public func delivery(id: Int64) async throws -> DeliveryRecord? {
        try await store.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM deliveries WHERE id = \(bind: id)").first().map(Self.record(from:))
        }
    }

    public func retry(id: Int64, now: Timestamp) async throws -> Result<DeliveryRecord, DeliveryRetryRefusal> {
        try await store.transaction { sql in
            // Only a failed delivery changes: two retries at once schedule it once.
            let retried = try await sql.raw(
                """
                UPDATE deliveries SET state = 'scheduled', attempts = 0, next_attempt_at = \(bind: now.millisecondsSinceEpoch), \
                updated_at = \(bind: now.millisecondsSinceEpoch) WHERE id = \(bind: id) AND state = 'failed' \
                RETURNING \(unsafeRaw: Self.columns)
                """
            ).first()
            if let retried { return .success(try Self.record(from: retried)) }
            let state = try await sql.raw("SELECT state FROM deliveries WHERE id = \(bind: id)").first()
            guard let state else { return .failure(.notFound) }
            return .failure(.notFailed(DeliveryState(rawValue: try state.decode(column: "state", as: String.self)) ?? .failed))
        }
    }

    static func record(from row: any SQLRow) throws -> DeliveryRecord {
        DeliveryRecord(
            id: try row.decode(column: "id", as: Int64.self),
            kind: DeliveryKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .reminder,
            eventID: try row.decode(column: "event_id", as: Int64.self),
            subscriptionID: try row.decode(column: "subscription_id", as: Int64.self),
            email: try row.decode(column: "email", as: String.self),
            state: DeliveryState(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed,
            dueAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "due_at", as: Int64.self)),
            sentAt: try row.decodeNil(column: "sent_at")
                ? nil : Timestamp(millisecondsSinceEpoch: try row.decode(column: "sent_at", as: Int64.self)),
            attempts: try row.decode(column: "attempts", as: Int.self),
            nextAttemptAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "next_attempt_at", as: Int64.self)),
            lastReply: try row.decodeNil(column: "last_error") ? nil : try row.decode(column: "last_error", as: String.self),
            messageID: try row.decode(column: "message_id", as: String.self),
            createdAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "updated_at", as: Int64.self))
        )
    }
}
