import FluentKit
import SQLKit

/// An index for `q`, the substring search over titles and locations, so it stops scanning.
///
/// SQLite: an FTS5 table with the trigram tokenizer over `events` (external content, kept in
/// step by triggers), and its vocabulary (rows per trigram). A search looks up the rarest
/// trigram of its text and reads only the rows that hold it (since M014 it counts through the
/// index itself, see `SQLEventRepository+Search.swift`): a phrase of all the trigrams
/// would read the lists of the common ones ("eve" of "Event" is in every row), which at a
/// million rows took over a second. PostgreSQL: pg_trgm GIN
/// indexes on the lowered columns, which the existing `LOWER(...) LIKE` condition uses as is
/// (pg_trgm is a trusted extension: the database's owner may create it). On both, the old
/// condition still decides, so answers stay exactly what they were; the index only narrows the
/// rows it looks at.
struct M007SearchIndex: AsyncMigration {
    var name: String { "007_search_index" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        if sql.dialect.name == "sqlite" {
            try await sql.raw(
                "CREATE VIRTUAL TABLE events_search USING fts5(title, location, content='events', content_rowid='id', tokenize='trigram')"
            ).run()
            try await sql.raw("INSERT INTO events_search(events_search) VALUES ('rebuild')").run()
            // How many rows hold each trigram: a search narrows by its rarest one.
            try await sql.raw("CREATE VIRTUAL TABLE events_search_terms USING fts5vocab(events_search, 'row')").run()
            try await sql.raw(
                """
                CREATE TRIGGER events_search_insert AFTER INSERT ON events BEGIN \
                INSERT INTO events_search(rowid, title, location) VALUES (new.id, new.title, new.location); END
                """
            ).run()
            try await sql.raw(
                """
                CREATE TRIGGER events_search_delete AFTER DELETE ON events BEGIN \
                INSERT INTO events_search(events_search, rowid, title, location) VALUES ('delete', old.id, old.title, old.location); END
                """
            ).run()
            try await sql.raw(
                """
                CREATE TRIGGER events_search_update AFTER UPDATE OF title, location ON events BEGIN \
                INSERT INTO events_search(events_search, rowid, title, location) VALUES ('delete', old.id, old.title, old.location); \
                INSERT INTO events_search(rowid, title, location) VALUES (new.id, new.title, new.location); END
                """
            ).run()
        } else {
            try await sql.raw("CREATE EXTENSION IF NOT EXISTS pg_trgm").run()
            try await sql.raw("CREATE INDEX events_title_trgm_idx ON events USING gin (LOWER(title) gin_trgm_ops)").run()
            try await sql.raw("CREATE INDEX events_location_trgm_idx ON events USING gin (LOWER(location) gin_trgm_ops)").run()
        }
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        if sql.dialect.name == "sqlite" {
            for trigger in ["events_search_insert", "events_search_delete", "events_search_update"] {
                try await sql.raw("DROP TRIGGER \(unsafeRaw: trigger)").run()
            }
            try await sql.raw("DROP TABLE events_search_terms").run()
            try await sql.raw("DROP TABLE events_search").run()
        } else {
            try await sql.raw("DROP INDEX events_location_trgm_idx").run()
            try await sql.raw("DROP INDEX events_title_trgm_idx").run()
        }
    }
}
