import FluentKit
import SQLKit

/// Indexes for pages of one location in date or popularity order (PostgreSQL).
///
/// A filtered, sorted page that no rare part of `q` narrows walks its sort order and checks
/// each row (`SQLEventRepository.list`). With a location, walking (starts_at, id) or
/// (popularity, id) fetched every event of every location from the table to check it, four
/// times the rows a walk of that location alone reads; at a million events these walks were
/// most of the searches over 5 ms. With the location first in the index the walk reads only its
/// rows: random searches at a million events, p99 8.8 to 9.5 ms → 7.1 to 8.7 (with word starts,
/// `SQLEventRepository.narrowedToWordStarts`). SQLite chooses its plans from its own walk and
/// statistics, which these indexes would change; it meets its targets without them.
struct M016LocationSortIndexes: AsyncMigration {
    var name: String { "016_location_sort_indexes" }

    static let indexes = [
        ("events_location_starts_at_idx", "location, starts_at, id"), ("events_location_popularity_idx", "location, popularity, id"),
    ]

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        guard sql.dialect.name != "sqlite" else { return }
        for (name, columns) in Self.indexes {
            try await sql.raw("CREATE INDEX \(unsafeRaw: name) ON events (\(unsafeRaw: columns))").run()
        }
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        guard sql.dialect.name != "sqlite" else { return }
        for (name, _) in Self.indexes {
            try await sql.raw("DROP INDEX \(unsafeRaw: name)").run()
        }
    }
}
