import FluentKit
import SQLKit

/// The FTS5 vocabulary of the search index goes (SQLite): nothing reads it any more.
///
/// It counted the rows of a trigram by reading the trigram's whole list (25 ms for "eve" at a
/// million rows); a search now counts up to a cap through the index itself
/// (`SQLEventRepository.rows(holding:upTo:on:)`).
struct M014DropSearchVocabulary: AsyncMigration {
    var name: String { "014_drop_search_vocabulary" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        guard sql.dialect.name == "sqlite" else { return }
        try await sql.raw("DROP TABLE events_search_terms").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        guard sql.dialect.name == "sqlite" else { return }
        try await sql.raw("CREATE VIRTUAL TABLE events_search_terms USING fts5vocab(events_search, 'row')").run()
    }
}
