import FluentKit
import SQLKit

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
