import FluentKit
import SQLKit

/// Every schema change, in order. Append; never edit a migration that has shipped.
public enum SchemaMigrations {
    public static var all: [any Migration] {
        [M001CreateEvents()]
    }
}

/// Creates the events table and an index for every filter and sort.
///
/// Times are integer milliseconds since the Unix epoch (UTC) so that both databases compare and
/// sort them natively. The id is an autoincrementing key: ids never come back after a delete.
struct M001CreateEvents: AsyncMigration {
    var name: String { "001_create_events" }

    func prepare(on database: any Database) async throws {
        try await database.schema("events")
            .field("id", .int64, .identifier(auto: true))
            .field("title", .string, .required)
            .field("location", .string, .required)
            .field("starts_at", .int64, .required)
            .field("timezone", .string, .required)
            .field("date_only", .bool, .required)
            .field("popularity", .int64, .required)
            .field("created_at", .int64, .required)
            .field("updated_at", .int64, .required)
            .create()
        let sql = database as! any SQLDatabase
        for (name, columns) in Self.indexes {
            var builder = sql.create(index: name).on("events")
            for column in columns { builder = builder.column(column) }
            try await builder.run()
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema("events").delete()
    }

    static let indexes: [(String, [String])] = [
        ("events_title_idx", ["title"]),
        ("events_location_idx", ["location"]),
        ("events_starts_at_idx", ["starts_at", "id"]),
        ("events_popularity_idx", ["popularity", "id"]),
    ]
}
