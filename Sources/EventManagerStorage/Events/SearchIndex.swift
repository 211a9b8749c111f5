import Logging
import SQLKit

/// SQLite's search index (`events_search`, FTS5 over `events`), written by the service.
///
/// Since M015 no trigger indexes a new event: `SQLEventRepository.create` adds it in the same
/// transaction, one row per statement (a statement of several rows would open a statement
/// journal, at which FTS5 writes what it holds as a segment of its own). Moving and deleting an
/// event still reach the index through triggers. PostgreSQL's trigram indexes need none of this.
enum SearchIndex {
    /// Indexes a row just inserted into `events`, in the same transaction.
    static func add(id: Int64, title: String, location: String, on sql: any SQLDatabase) async throws {
        try await sql.raw(
            "INSERT INTO events_search(rowid, title, location) VALUES (\(bind: id), \(bind: title), \(bind: location))"
        ).run()
    }

    /// Rebuilds the index when it does not hold one entry per event: a row written into
    /// `events` by hand (a script, a restore) is otherwise never found by `q`, and moving or
    /// deleting it would remove entries the index never had.
    ///
    /// Counting both takes a few milliseconds at a million events; it runs once, at start, on a
    /// reading connection (counted through the writer's, the pages read stayed in its larger
    /// cache: 10 MB more resident memory at a million events).
    static func completeIfNeeded(on store: DatabaseStore, logger: Logger) async throws {
        guard
            let row = try await store.read({ sql in
                try await sql.raw(
                    "SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM events_search_docsize) AS indexed"
                ).first()
            })
        else { return }
        let events = try row.decode(column: "events", as: Int64.self)
        let indexed = try row.decode(column: "indexed", as: Int64.self)
        guard events != indexed else { return }
        logger.warning(
            "Rebuilding the search index: it holds a different number of rows than events",
            metadata: ["events": "\(events)", "indexed": "\(indexed)"])
        try await store.write { try await $0.raw("INSERT INTO events_search(events_search) VALUES ('rebuild')").run() }
    }
}
