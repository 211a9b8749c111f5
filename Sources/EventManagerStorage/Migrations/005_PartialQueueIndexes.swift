import FluentKit
import SQLKit

/// Indexes that stay as small as the work to do, however long the history grows: claims read
/// the scheduled and leased rows only, and retention finds finished rows by age. The old
/// `(state, next_attempt_at)` index covered every row, finished ones included.
struct M005PartialQueueIndexes: AsyncMigration {
    var name: String { "005_partial_queue_indexes" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw("CREATE INDEX deliveries_scheduled_idx ON deliveries (next_attempt_at, id) WHERE state = 'scheduled'").run()
        try await sql.raw("CREATE INDEX deliveries_leased_idx ON deliveries (lease_expires_at) WHERE state = 'sending'").run()
        try await sql.raw(
            "CREATE INDEX deliveries_finished_idx ON deliveries (updated_at) WHERE state IN ('sent', 'failed', 'skipped', 'cancelled')"
        ).run()
        try await sql.raw("DROP INDEX deliveries_ready_idx").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw("CREATE INDEX deliveries_ready_idx ON deliveries (state, next_attempt_at)").run()
        try await sql.raw("DROP INDEX deliveries_finished_idx").run()
        try await sql.raw("DROP INDEX deliveries_leased_idx").run()
        try await sql.raw("DROP INDEX deliveries_scheduled_idx").run()
    }
}
