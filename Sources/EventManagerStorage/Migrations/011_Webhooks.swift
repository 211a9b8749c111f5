import FluentKit
import SQLKit

/// Webhook endpoints and their messages: the outbox, the durable queue and the delivery log in
/// one table, as deliveries are for mail.
///
/// A message waiting or being sent is found through a partial index on its due time, which
/// stays as small as the backlog however long the log grows; a claim sets the due time to the
/// end of its lease, so a message whose worker died falls due again by itself.
struct M011Webhooks: AsyncMigration {
    var name: String { "011_webhooks" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw(
            """
            CREATE TABLE webhooks (id \(unsafeRaw: sql.autoincrementKey), \
            account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE, url TEXT NOT NULL, event_types TEXT NOT NULL, \
            secret TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, disabled_at BIGINT, disabled_reason TEXT)
            """
        ).run()
        try await sql.raw("CREATE INDEX webhooks_account_idx ON webhooks (account_id)").run()
        try await sql.raw(
            """
            CREATE TABLE webhook_messages (id \(unsafeRaw: sql.autoincrementKey), webhook_id BIGINT NOT NULL, \
            message_id TEXT NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL, \
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL, lease_owner TEXT, last_status INTEGER, \
            last_error TEXT, last_latency_ms BIGINT, created_at BIGINT NOT NULL, delivered_at BIGINT, updated_at BIGINT NOT NULL)
            """
        ).run()
        try await sql.raw(
            "CREATE INDEX webhook_messages_due_idx ON webhook_messages (next_attempt_at) WHERE state IN ('pending', 'sending')"
        ).run()
        try await sql.raw("CREATE INDEX webhook_messages_log_idx ON webhook_messages (webhook_id, id)").run()
        try await sql.raw("CREATE INDEX webhook_messages_created_idx ON webhook_messages (created_at)").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.drop(table: "webhook_messages").run()
        try await sql.drop(table: "webhooks").run()
    }
}
