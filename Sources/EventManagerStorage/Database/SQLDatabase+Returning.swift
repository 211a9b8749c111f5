import SQLKit

/// Statements that hand back what they wrote, without `RETURNING` on SQLite where that costs.
///
/// In a transaction SQLite runs a statement with `RETURNING` through an ephemeral table and a
/// statement journal of its own. Under `POST /events` each write made two such statements (the
/// change counter, the row); replayed against SQLite alone in groups of eight (16,000 events),
/// they took 1.13 s with `RETURNING` and 0.84 s without. PostgreSQL keeps its one round trip.
extension SQLDatabase {
    /// Runs `insert`, of one row into a table whose key is `id`, and returns that row's id.
    func insertReturningID(_ insert: SQLQueryString) async throws -> Int64 {
        if dialect.name == "sqlite" {
            try await raw(insert).run()
            // The connection's last insert of a statement of its own: a trigger's insert
            // (the search index's) is not it once the trigger has run.
            return try await value("SELECT last_insert_rowid() AS value")
        }
        return try await value(insert + " RETURNING id AS value")
    }

    /// Runs `insert`, of at most one row into `table` (which may skip it: `ON CONFLICT DO
    /// NOTHING`), and returns `columns` of the row it wrote, or nil when it wrote none.
    func insertReturning(_ insert: SQLQueryString, table: String, columns: String) async throws -> (any SQLRow)? {
        if dialect.name == "sqlite" {
            try await raw(insert).run()
            // `changes()` is still the insert's: a SELECT leaves it alone.
            return try await raw(
                "SELECT \(unsafeRaw: columns) FROM \(unsafeRaw: table) WHERE rowid = last_insert_rowid() AND changes() = 1"
            ).first()
        }
        return try await raw(insert + " RETURNING \(unsafeRaw: columns)").first()
    }

    /// Adds `count` to the change counter and returns its new value (see `ChangeCounter`).
    func advanceChangeCounter(by count: Int) async throws -> Int64 {
        let update: SQLQueryString = "UPDATE sync_state SET last_seq = last_seq + \(literal: count) WHERE id = 1"
        if dialect.name == "sqlite" {
            try await raw(update).run()
            return try await value("SELECT last_seq AS value FROM sync_state WHERE id = 1")
        }
        return try await value(update + " RETURNING last_seq AS value")
    }

    /// The one integer `query` reads, as the column `value`.
    private func value(_ query: SQLQueryString) async throws -> Int64 {
        guard let row = try await raw(query).first() else { throw StorageError.missingReturnedRow }
        return try row.decode(column: "value", as: Int64.self)
    }
}
