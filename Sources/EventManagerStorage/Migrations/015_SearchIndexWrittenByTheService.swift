import FluentKit
import SQLKit

/// The search index's insert trigger goes (SQLite): the service indexes the events it creates
/// itself, in the same transaction (`SearchIndex.add`).
///
/// A trigger that writes a virtual table makes every `INSERT INTO events` open a statement
/// journal, and FTS5 writes its pending entries out as a segment of their own whenever one
/// opens: one segment per event, merged again later. Replayed against SQLite alone (16,000
/// events in groups of eight) that took 0.84 s with the trigger and 0.52 s without, one segment
/// per group. The delete and update triggers stay: those paths are rare. A row written into
/// `events` by hand is indexed when the service next starts (`SearchIndex.completeIfNeeded`).
struct M015SearchIndexWrittenByTheService: AsyncMigration {
    var name: String { "015_search_index_written_by_the_service" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        guard sql.dialect.name == "sqlite" else { return }
        try await sql.raw("DROP TRIGGER events_search_insert").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        guard sql.dialect.name == "sqlite" else { return }
        try await sql.raw(
            """
            CREATE TRIGGER events_search_insert AFTER INSERT ON events BEGIN \
            INSERT INTO events_search(rowid, title, location) VALUES (new.id, new.title, new.location); END
            """
        ).run()
    }
}
