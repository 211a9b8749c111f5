import FluentKit
import SQLKit

/// Accounts, their API keys (hashes only), and the account that owns each event.
///
/// Events created before accounts existed have no owner; only admins may change them.
struct M003CreateAccountsAndKeys: AsyncMigration {
    var name: String { "003_create_accounts_and_keys" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw(
            """
            CREATE TABLE accounts (id \(unsafeRaw: sql.autoincrementKey), name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, \
            created_at BIGINT NOT NULL)
            """
        ).run()
        try await sql.raw(
            """
            CREATE TABLE api_keys (id \(unsafeRaw: sql.autoincrementKey), \
            account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE, lookup_id TEXT NOT NULL UNIQUE, \
            secret_hash TEXT NOT NULL, created_at BIGINT NOT NULL, last_used_at BIGINT, revoked_at BIGINT)
            """
        ).run()
        try await sql.raw("ALTER TABLE events ADD COLUMN owner_account_id BIGINT").run()
        try await sql.raw("CREATE INDEX events_owner_idx ON events (owner_account_id)").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw("DROP INDEX events_owner_idx").run()
        try await sql.raw("ALTER TABLE events DROP COLUMN owner_account_id").run()
        try await sql.drop(table: "api_keys").run()
        try await sql.drop(table: "accounts").run()
    }
}
