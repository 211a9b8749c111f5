import FluentKit
import SQLKit

/// Idempotency keys and the answers they replay, shared by every API node.
struct M009IdempotencyKeys: AsyncMigration {
    var name: String { "009_idempotency_keys" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        let blob = sql.dialect.name == "sqlite" ? "BLOB" : "BYTEA"
        try await sql.raw(
            """
            CREATE TABLE idempotency_keys (scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, \
            state TEXT NOT NULL, locked_until BIGINT NOT NULL, status INTEGER, headers TEXT, body \(unsafeRaw: blob), \
            created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, PRIMARY KEY (scope, key))
            """
        ).run()
        try await sql.raw("CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at)").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.drop(table: "idempotency_keys").run()
    }
}
