import FluentKit
import SQLKit

/// Every schema change, in order. Append; never edit a migration that has shipped.
public enum SchemaMigrations {
    public static var all: [any Migration] {
        [M001CreateEvents(), M002CreateSubscriptionsAndDeliveries(), M003CreateAccountsAndKeys(), M004CreateRateLimits()]
    }
}

/// Creates the events table and an index for every filter and sort.
///
/// Times are integer milliseconds since the Unix epoch (UTC) so that both databases compare and
/// sort them natively. The id is an autoincrementing key: ids never come back after a delete.
struct M001CreateEvents: AsyncMigration {
    var name: String { "001_create_events" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        // AUTOINCREMENT (SQLite) and IDENTITY (PostgreSQL) both guarantee an id is never handed out twice.
        try await sql.raw(
            """
            CREATE TABLE events (id \(unsafeRaw: sql.autoincrementKey), title TEXT NOT NULL, location TEXT NOT NULL, \
            starts_at BIGINT NOT NULL, timezone TEXT NOT NULL, date_only BOOLEAN NOT NULL, popularity BIGINT NOT NULL, \
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """
        ).run()
        for (name, columns) in Self.indexes {
            var builder = sql.create(index: name).on("events")
            for column in columns { builder = builder.column(column) }
            try await builder.run()
        }
    }

    func revert(on database: any Database) async throws {
        try await (database as! any SQLDatabase).drop(table: "events").run()
    }

    static let indexes: [(String, [String])] = [
        ("events_title_idx", ["title"]),
        ("events_location_idx", ["location"]),
        ("events_starts_at_idx", ["starts_at", "id"]),
        ("events_popularity_idx", ["popularity", "id"]),
    ]
}

/// Subscriptions and the queue of emails to send (reminders and change notices).
///
/// The queue has no foreign key to events on purpose: a cancellation notice must outlive the
/// event it reports. `revision` counts an event's changes (the calendar attachment's SEQUENCE).
struct M002CreateSubscriptionsAndDeliveries: AsyncMigration {
    var name: String { "002_create_subscriptions_and_deliveries" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw("ALTER TABLE events ADD COLUMN revision BIGINT NOT NULL DEFAULT 0").run()
        try await sql.raw(
            """
            CREATE TABLE subscriptions (id \(unsafeRaw: sql.autoincrementKey), \
            event_id BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE, email TEXT NOT NULL, \
            email_normalized TEXT NOT NULL, remind_before_minutes BIGINT NOT NULL, status TEXT NOT NULL, \
            token TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, unsubscribed_at BIGINT, \
            UNIQUE (event_id, email_normalized))
            """
        ).run()
        try await sql.raw(
            """
            CREATE TABLE deliveries (id \(unsafeRaw: sql.autoincrementKey), kind TEXT NOT NULL, \
            subscription_id BIGINT NOT NULL, event_id BIGINT NOT NULL, email TEXT NOT NULL, \
            event_starts_at BIGINT NOT NULL, due_at BIGINT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, \
            next_attempt_at BIGINT NOT NULL, lease_owner TEXT, lease_expires_at BIGINT, last_error TEXT, sent_at BIGINT, \
            message_id TEXT NOT NULL, notice TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """
        ).run()
        try await sql.raw("CREATE INDEX deliveries_ready_idx ON deliveries (state, next_attempt_at)").run()
        try await sql.raw("CREATE INDEX deliveries_subscription_idx ON deliveries (subscription_id, state)").run()
        try await sql.raw(
            "CREATE UNIQUE INDEX deliveries_one_reminder_idx ON deliveries (subscription_id, event_starts_at) WHERE kind = 'reminder'"
        ).run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.drop(table: "deliveries").run()
        try await sql.drop(table: "subscriptions").run()
        try await sql.raw("ALTER TABLE events DROP COLUMN revision").run()
    }
}

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

/// Rate-limit state shared by every API node: one row per class and client.
///
/// `tat0`...`tat3` are the GCRA arrival times of up to four limits (milliseconds since the epoch),
/// so one `INSERT ... ON CONFLICT DO UPDATE ... WHERE` decides and counts a request atomically.
/// `expires_at` is when the key has fully recovered and its row may go. On PostgreSQL the table
/// is UNLOGGED: counting a request writes no WAL and waits for no disk flush, and a crash merely
/// forgets who spent what (every client starts afresh).
struct M004CreateRateLimits: AsyncMigration {
    var name: String { "004_create_rate_limits" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        let unlogged = sql.dialect.name == "sqlite" ? "" : "UNLOGGED "
        try await sql.raw(
            """
            CREATE \(unsafeRaw: unlogged)TABLE rate_limits (key TEXT PRIMARY KEY, tat0 DOUBLE PRECISION NOT NULL, tat1 DOUBLE PRECISION NOT NULL, \
            tat2 DOUBLE PRECISION NOT NULL, tat3 DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL)
            """
        ).run()
        try await sql.raw("CREATE INDEX rate_limits_expires_idx ON rate_limits (expires_at)").run()
    }

    func revert(on database: any Database) async throws {
        try await (database as! any SQLDatabase).drop(table: "rate_limits").run()
    }
}

extension SQLDatabase {
    /// An integer primary key that is never handed out twice: AUTOINCREMENT on SQLite, an
    /// identity column on PostgreSQL.
    var autoincrementKey: String {
        dialect.name == "sqlite" ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    }
}
