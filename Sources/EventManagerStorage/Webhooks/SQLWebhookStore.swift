import EventManagerCore
import SQLKit

/// Webhook endpoints, their logs and their queue, in SQL that SQLite and PostgreSQL both run.
public struct SQLWebhookStore: WebhookRepository, WebhookQueue {
    let store: DatabaseStore

    public init(store: DatabaseStore) {
        self.store = store
    }

    static let columns = "id, account_id, url, event_types, secret, created_at, updated_at, disabled_at, disabled_reason"
    static let messageColumns = """
        id, webhook_id, message_id, type, payload, state, attempts, next_attempt_at, last_status, last_error, last_latency_ms, \
        created_at, delivered_at
        """

    // MARK: Endpoints

    public func create(accountID: Int64, url: String, eventTypes: [WebhookEventType], secret: String, now: Timestamp) async throws
        -> Webhook
    {
        let row = try await store.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO webhooks (account_id, url, event_types, secret, created_at, updated_at) \
                VALUES (\(bind: accountID), \(bind: url), \(bind: Webhook.storedTypes(eventTypes)), \(bind: secret), \
                \(bind: now.millisecondsSinceEpoch), \(bind: now.millisecondsSinceEpoch)) RETURNING \(unsafeRaw: Self.columns)
                """
            ).first()
        }
        guard let row else { throw StorageError.missingReturnedRow }
        return try Self.webhook(from: row)
    }

    public func list(accountID: Int64?, afterID: Int64?, limit: Int) async throws -> [Webhook] {
        let account: SQLQueryString = accountID.map { " AND account_id = \(bind: $0)" } ?? ""
        let after: SQLQueryString = afterID.map { " AND id > \(bind: $0)" } ?? ""
        return try await store.read { sql in
            try await sql.raw(
                "SELECT \(unsafeRaw: Self.columns) FROM webhooks WHERE 1 = 1\(account)\(after) ORDER BY id LIMIT \(literal: limit)"
            ).all().map(Self.webhook(from:))
        }
    }

    public func find(id: Int64) async throws -> Webhook? {
        try await store.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM webhooks WHERE id = \(bind: id)").first().map(Self.webhook(from:))
        }
    }

    public func update(id: Int64, change: WebhookRegistration, now: Timestamp) async throws -> Webhook? {
        let nowMs = now.millisecondsSinceEpoch
        var sets: [SQLQueryString] = ["updated_at = \(bind: nowMs)"]
        if let url = change.url { sets.append("url = \(bind: url)") }
        if let types = change.eventTypes { sets.append("event_types = \(bind: Webhook.storedTypes(types))") }
        switch change.active {
        case true?: sets.append("disabled_at = NULL, disabled_reason = NULL")
        case false?:
            sets.append(
                "disabled_at = COALESCE(disabled_at, \(bind: nowMs)), disabled_reason = COALESCE(disabled_reason, 'paused by its owner')")
        case nil: break
        }
        let assignments = sets.joined(separator: ", ")
        let row = try await store.transaction { sql in
            try await sql.raw(
                "UPDATE webhooks SET \(assignments) WHERE id = \(bind: id) RETURNING \(unsafeRaw: Self.columns)"
            ).first()
        }
        return try row.map(Self.webhook(from:))
    }

    public func delete(id: Int64) async throws -> Bool {
        try await store.transaction { sql in
            try await sql.raw("DELETE FROM webhook_messages WHERE webhook_id = \(bind: id)").run()
            return try await sql.raw("DELETE FROM webhooks WHERE id = \(bind: id) RETURNING id").first() != nil
        }
    }

    public func ping(_ webhook: Webhook, now: Timestamp) async throws -> WebhookMessage {
        let notice = WebhookNotice.make(.ping, owner: webhook.accountID, at: now) { writer in
            writer.raw("{\"webhook_id\":")
            writer.integer(webhook.id)
            writer.raw("}")
        }
        let nowMs = now.millisecondsSinceEpoch
        let row = try await store.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO webhook_messages (webhook_id, message_id, type, payload, state, attempts, next_attempt_at, \
                created_at, updated_at) VALUES (\(bind: webhook.id), \(bind: notice.messageID), \(bind: notice.type.rawValue), \
                \(bind: String(decoding: notice.payload, as: UTF8.self)), 'pending', 0, \(bind: nowMs), \(bind: nowMs), \(bind: nowMs)) \
                RETURNING \(unsafeRaw: Self.messageColumns)
                """
            ).first()
        }
        guard let row else { throw StorageError.missingReturnedRow }
        return try Self.message(from: row)
    }

    public func messages(webhookID: Int64, state: WebhookMessage.State?, beforeID: Int64?, limit: Int) async throws -> [WebhookMessage] {
        let stateFilter: SQLQueryString = state.map { " AND state = \(bind: $0.rawValue)" } ?? ""
        let before: SQLQueryString = beforeID.map { " AND id < \(bind: $0)" } ?? ""
        return try await store.read { sql in
            try await sql.raw(
                """
                SELECT \(unsafeRaw: Self.messageColumns) FROM webhook_messages WHERE webhook_id = \(bind: webhookID)\(stateFilter)\(before) \
                ORDER BY id DESC LIMIT \(literal: limit)
                """
            ).all().map(Self.message(from:))
        }
    }

    // MARK: Queue

    public func claim(owner: String, limit: Int, now: Timestamp, leaseMilliseconds: Int64) async throws -> [ClaimedWebhookMessage] {
        let (nowMs, isSQLite) = (now.millisecondsSinceEpoch, store.isSQLite)
        return try await store.transaction { sql in
            let lock: SQLQueryString = isSQLite ? "" : " FOR UPDATE SKIP LOCKED"
            // The lease's end becomes the due time: a message whose worker died is due again then.
            // A paused endpoint's messages wait for it to be turned back on; pings always go.
            let rows = try await sql.raw(
                """
                UPDATE webhook_messages SET state = 'sending', lease_owner = \(bind: owner), attempts = attempts + 1, \
                next_attempt_at = \(bind: nowMs + leaseMilliseconds), updated_at = \(bind: nowMs) \
                WHERE id IN (SELECT id FROM webhook_messages WHERE state IN ('pending', 'sending') \
                AND next_attempt_at <= \(bind: nowMs) \
                AND (type = 'webhook.ping' OR webhook_id IN (SELECT id FROM webhooks WHERE disabled_at IS NULL)) \
                ORDER BY next_attempt_at, id LIMIT \(literal: limit)\(lock)) \
                RETURNING \(unsafeRaw: Self.messageColumns)
                """
            ).all()
            let messages = try rows.map(Self.message(from:))
            guard !messages.isEmpty else { return [] }
            let endpoints = try await sql.raw(
                "SELECT id, url, secret FROM webhooks WHERE id IN (\(binds: Array(Set(messages.map(\.webhookID)))))"
            ).all()
            var targets: [Int64: (url: String, secret: String)] = [:]
            for row in endpoints {
                targets[try row.decode(column: "id", as: Int64.self)] = (
                    try row.decode(column: "url", as: String.self), try row.decode(column: "secret", as: String.self)
                )
            }
            return messages.sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }.compactMap { message in
                targets[message.webhookID].map { ClaimedWebhookMessage(message: message, url: $0.url, secret: $0.secret) }
            }
        }
    }

    public func complete(_ id: Int64, owner: String, result: WebhookAttemptResult, outcome: WebhookOutcome, now: Timestamp)
        async throws
    {
        let nowMs = now.millisecondsSinceEpoch
        let (status, latency): (Int?, Int64)
        let error: String?
        switch result {
        case .answered(let code, let milliseconds):
            (status, latency) = (code, milliseconds)
            error = (200...299).contains(code) ? nil : result.summary
        case .failed(let reason, let milliseconds):
            (status, latency, error) = (nil, milliseconds, String(reason.prefix(1000)))
        }
        let state: SQLQueryString
        switch outcome {
        case .delivered(let at): state = "state = 'delivered', delivered_at = \(bind: at.millisecondsSinceEpoch)"
        case .retry(let at): state = "state = 'pending', next_attempt_at = \(bind: at.millisecondsSinceEpoch)"
        case .failed: state = "state = 'failed'"
        }
        try await store.transaction { sql in
            let webhook = try await sql.raw(
                """
                UPDATE webhook_messages SET \(state), lease_owner = NULL, last_status = \(bind: status), last_error = \(bind: error), \
                last_latency_ms = \(bind: latency), updated_at = \(bind: nowMs) \
                WHERE id = \(bind: id) AND state = 'sending' AND lease_owner = \(bind: owner) RETURNING webhook_id
                """
            ).first()?.decode(column: "webhook_id", as: Int64.self)
            guard let webhook, case .failed(let reason?) = outcome else { return }
            // The endpoint goes, and with it what was still waiting for it.
            try await sql.raw(
                """
                UPDATE webhooks SET disabled_at = \(bind: nowMs), disabled_reason = \(bind: reason), updated_at = \(bind: nowMs) \
                WHERE id = \(bind: webhook) AND disabled_at IS NULL
                """
            ).run()
            try await sql.raw(
                """
                UPDATE webhook_messages SET state = 'failed', last_error = \(bind: "endpoint disabled: " + reason), \
                updated_at = \(bind: nowMs) WHERE webhook_id = \(bind: webhook) AND state = 'pending'
                """
            ).run()
        }
    }

    public func nextDue() async throws -> Timestamp? {
        try await store.read { sql in
            try await sql.raw(
                "SELECT MIN(next_attempt_at) AS due FROM webhook_messages WHERE state IN ('pending', 'sending')"
            ).first().flatMap { row in
                try row.decodeNil(column: "due") ? nil : Timestamp(millisecondsSinceEpoch: try row.decode(column: "due", as: Int64.self))
            }
        }
    }

    /// Messages waiting or being sent, counted from the partial index, for `/metrics`.
    public func backlog() async throws -> Int {
        // SQLite is told which index, as for the deliveries' depth: it would rather scan the log.
        let index: SQLQueryString = store.isSQLite ? " INDEXED BY webhook_messages_due_idx" : ""
        return try await store.read { sql in
            try await sql.raw(
                "SELECT COUNT(*) AS n FROM webhook_messages\(index) WHERE state IN ('pending', 'sending')"
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    public func purge(before cutoff: Timestamp, limit: Int) async throws -> Int {
        try await store.write { sql in
            try await sql.raw(
                """
                DELETE FROM webhook_messages WHERE id IN (SELECT id FROM webhook_messages \
                WHERE created_at < \(bind: cutoff.millisecondsSinceEpoch) AND state IN ('delivered', 'failed') LIMIT \(literal: limit)) \
                RETURNING id
                """
            ).all().count
        }
    }

    // MARK: Rows

    static func webhook(from row: any SQLRow) throws -> Webhook {
        Webhook(
            id: try row.decode(column: "id", as: Int64.self), accountID: try row.decode(column: "account_id", as: Int64.self),
            url: try row.decode(column: "url", as: String.self),
            eventTypes: Webhook.types(stored: try row.decode(column: "event_types", as: String.self)),
            secret: try row.decode(column: "secret", as: String.self),
            createdAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "updated_at", as: Int64.self)),
            disabledAt: try row.decodeNil(column: "disabled_at")
                ? nil : Timestamp(millisecondsSinceEpoch: try row.decode(column: "disabled_at", as: Int64.self)),
            disabledReason: try row.decodeNil(column: "disabled_reason") ? nil : try row.decode(column: "disabled_reason", as: String.self)
        )
    }

    static func message(from row: any SQLRow) throws -> WebhookMessage {
        func optional<T: Decodable>(_ column: String, _ type: T.Type) throws -> T? {
            try row.decodeNil(column: column) ? nil : try row.decode(column: column, as: type)
        }
        return WebhookMessage(
            id: try row.decode(column: "id", as: Int64.self), webhookID: try row.decode(column: "webhook_id", as: Int64.self),
            messageID: try row.decode(column: "message_id", as: String.self),
            type: WebhookEventType(rawValue: try row.decode(column: "type", as: String.self)) ?? .ping,
            payload: Array(try row.decode(column: "payload", as: String.self).utf8),
            state: WebhookMessage.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed,
            attempts: try row.decode(column: "attempts", as: Int.self),
            nextAttemptAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "next_attempt_at", as: Int64.self)),
            lastStatus: try optional("last_status", Int.self), lastError: try optional("last_error", String.self),
            lastLatencyMilliseconds: try optional("last_latency_ms", Int64.self),
            createdAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "created_at", as: Int64.self)),
            deliveredAt: try optional("delivered_at", Int64.self).map(Timestamp.init(millisecondsSinceEpoch:))
        )
    }
}
