import FluentKit
import SQLKit

/// The change feed: every event's position in it, the deleted events' tombstones, and the
/// counter both take their positions from (with how far tombstones have been purged).
struct M010ChangeFeed: AsyncMigration {
    var name: String { "010_change_feed" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw(
            "CREATE TABLE sync_state (id INTEGER PRIMARY KEY, last_seq BIGINT NOT NULL, purged_through BIGINT NOT NULL)"
        ).run()
        try await sql.raw("INSERT INTO sync_state (id, last_seq, purged_through) SELECT 1, COALESCE(MAX(id), 0), 0 FROM events").run()
        try await sql.raw("ALTER TABLE events ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0").run()
        // Existing events enter the feed in the order they were created.
        try await sql.raw("UPDATE events SET change_seq = id").run()
        try await sql.raw("CREATE INDEX events_change_seq_idx ON events (change_seq)").run()
        try await sql.raw(
            "CREATE TABLE event_tombstones (event_id BIGINT PRIMARY KEY, change_seq BIGINT NOT NULL, deleted_at BIGINT NOT NULL)"
        ).run()
        try await sql.raw("CREATE INDEX event_tombstones_seq_idx ON event_tombstones (change_seq)").run()
        try await sql.raw("CREATE INDEX event_tombstones_age_idx ON event_tombstones (deleted_at)").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.drop(table: "event_tombstones").run()
        try await sql.raw("DROP INDEX events_change_seq_idx").run()
        try await sql.raw("ALTER TABLE events DROP COLUMN change_seq").run()
        try await sql.drop(table: "sync_state").run()
    }
}
