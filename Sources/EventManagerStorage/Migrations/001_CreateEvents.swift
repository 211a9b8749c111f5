import FluentKit
import SQLKit

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
