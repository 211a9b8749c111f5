import EventManagerCore
import FluentPostgresDriver

/// Events on PostgreSQL read by position: a prepared statement for the single read, and the
/// columns of `SQLEventRepository.columns` decoded in their order.
extension SQLEventRepository {
    /// `GET /events/{id}`'s query, parsed and described once per connection instead of at every
    /// request: the server no longer decodes a row description per read, nor PostgreSQL plans it.
    struct EventByID: PostgresPreparedStatement {
        static let name = "event_by_id"
        static let sql = "SELECT \(SQLEventRepository.columns) FROM events WHERE id = $1"
        typealias Row = Event

        let id: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(id)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Event { try SQLEventRepository.event(postgres: row) }
    }

    /// The position of the last committed change to the events (see `ChangeCounter`): every
    /// write to them takes its next value in the same transaction, so while it stays the same,
    /// so do the events.
    struct ChangeVersion: PostgresPreparedStatement {
        static let name = "events_version"
        static let sql = "SELECT last_seq FROM sync_state WHERE id = 1"
        typealias Row = Int64

        func makeBindings() -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> Int64 {
            var cells = row.makeIterator()
            guard let cell = cells.next() else { throw PostgresCellError.missingColumn }
            return try cell.int64()
        }
    }

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
            for try await last in try await connection.execute(ChangeVersion(), logger: sql.logger) { return UInt64(bitPattern: last) }
            return nil
        }
    }

    /// The event with `id` through the prepared statement.
    static func find(id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Event? {
        for try await event in try await connection.execute(EventByID(id: id), logger: logger) { return event }
        return nil
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
/// type or format goes through PostgresNIO's generic decoding (which spent a tenth of a page's
/// CPU in generic metadata look-ups for the variadic tuple decoder).
extension PostgresCell {
    func int64() throws -> Int64 {
        if format == .binary, dataType == .int8, let value = bytes?.getInteger(at: bytes!.readerIndex, as: Int64.self) {
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
        if format == .binary, dataType == .bool, let byte = bytes?.getInteger(at: bytes!.readerIndex, as: UInt8.self) {
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
