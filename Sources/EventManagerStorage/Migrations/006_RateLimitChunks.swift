import FluentKit
import SQLKit

/// How many tokens the last reservation of a key granted: nodes reserve shared budget in
/// chunks (see `TokenLeases`), and the one statement that reserves reports its grant here.
struct M006RateLimitChunks: AsyncMigration {
    var name: String { "006_rate_limit_chunks" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw("ALTER TABLE rate_limits ADD COLUMN granted BIGINT NOT NULL DEFAULT 1").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw("ALTER TABLE rate_limits DROP COLUMN granted").run()
    }
}
