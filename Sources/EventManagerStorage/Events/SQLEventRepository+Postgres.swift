import EventManagerCore
import FluentPostgresDriver

/// Events on PostgreSQL read by position: a prepared statement for the single read, and the
/// columns of `SQLEventRepository.columns` decoded in their order.
extension SQLEventRepository {
    /// `GET /events/{id}`'s query, prepared once per connection (see `PostgresStatements`): the
    /// server no longer decodes a row description per read, nor PostgreSQL plans it.
    static let eventByID = "SELECT \(SQLEventRepository.columns) FROM events WHERE id = $1"

    /// The position of the last committed change to the events (see `ChangeCounter`): every
    /// write to them takes its next value in the same transaction, so while it stays the same,
    /// so do the events.
    static let changeVersion = "SELECT last_seq FROM sync_state WHERE id = 1"

    /// On PostgreSQL, where other nodes write too, the change counter as committed now; nil on
    /// SQLite (one node there keeps its own count, see `CachedEventRepository`).
    public func currentVersion() async throws -> UInt64? {
        guard !store.isSQLite else { return nil }
        return try await versions.next()
    }

    /// The counter read once; `versions` shares these reads between concurrent callers.
    static func readVersion(_ store: DatabaseStore) async throws -> UInt64? {
        try await store.read { sql in
            guard let connection = sql.postgresConnection else { return nil }
            let rows = try await PostgresStatements.rows(changeVersion, [], on: connection, logger: sql.logger)
            guard let cell = rows.first?.first else { return nil }
            return UInt64(bitPattern: try cell.int64())
        }
    }

    /// The event with `id` through the prepared statement.
    static func find(id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Event? {
        let rows = try await PostgresStatements.rows(eventByID, [PostgresData(int64: id)], on: connection, logger: logger)
        return try rows.first.map(event(postgres:))
    }

    /// An event from a row of `Self.columns`, in that order.
    static func event(postgres row: PostgresRow) throws -> Event {
        var cells = row.makeIterator()
        func next() throws -> PostgresCell {
            guard let cell = cells.next() else { throw PostgresCellError.missingColumn }
            return cell
        }
        return Event(
            id: try next().int64(), title: try next().string(), location: try next().string(),
            startsAt: Timestamp(millisecondsSinceEpoch: try next().int64()),
            timeZone: EventTimeZone(identifier: try next().string()) ?? .utc, isDateOnly: try next().bool(),
            popularity: try next().int64(), createdAt: Timestamp(millisecondsSinceEpoch: try next().int64()),
            updatedAt: Timestamp(millisecondsSinceEpoch: try next().int64()), ownerAccountID: try next().optionalInt64(),
            revision: try next().int64())
    }
}

/// A row with fewer columns than its reader expects: the query and the reader disagree.
enum PostgresCellError: Error {
    case missingColumn
}

/// Cells of the types our tables use, read from PostgreSQL's binary format directly; any other
/// type goes through PostgresNIO's generic decoding (which spent a tenth of a page's CPU in
/// generic metadata look-ups for the variadic tuple decoder).
///
/// They go by the column's type, not the format a cell is labelled with: every statement here
/// is an extended query, whose rows PostgresNIO always asks for in binary, but it labels the rows
/// of a statement prepared with `prepare(query:)` text (see `PostgresStatements`).
extension PostgresCell {
    func int64() throws -> Int64 {
        if dataType == .int8, let value = bytes?.getInteger(at: bytes!.readerIndex, as: Int64.self) {
            return value
        }
        return try decode(Int64.self)
    }

    func optionalInt64() throws -> Int64? {
        guard bytes != nil else { return nil }
        return try int64()
    }

    func string() throws -> String {
        if dataType == .text || dataType == .varchar, let bytes { return String(buffer: bytes) }
        return try decode(String.self)
    }

    func bool() throws -> Bool {
        if dataType == .bool, let byte = bytes?.getInteger(at: bytes!.readerIndex, as: UInt8.self) {
            return byte != 0
        }
        return try decode(Bool.self)
    }
}

/// Pages as ids and revisions, for a node that keeps events (see `VersionedEventRepository`).
extension SQLEventRepository: RevisionedEventRepository {
    /// The statement `list` reads a page with, reading two of each row's eleven columns; nil on
    /// SQLite, where a page may take two statements.
    public func revisions(_ query: EventListQuery) async throws -> [EventRevision]? {
        guard !store.isSQLite else { return nil }
        guard let plan = try await pagePlan(query) else { return [] }
        return try await store.read { sql in
            guard let rows = try await sql.postgresRows(plan.statement(columns: "id, revision"), prepared: plan.unfiltered) else {
                return nil
            }
            return try rows.map { row in
                var cells = row.makeIterator()
                guard let id = cells.next(), let revision = cells.next() else { throw PostgresCellError.missingColumn }
                return EventRevision(id: try id.int64(), revision: try revision.int64())
            }
        }
    }

    public func events(ids: [Int64]) async throws -> [Event] {
        guard !ids.isEmpty else { return [] }
        return try await fetch("SELECT \(unsafeRaw: Self.columns) FROM events WHERE id IN (\(binds: ids))")
    }
}
