import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO

/// A `SQLiteThread` as SQLKit's database, for the bodies of group commits and reads.
///
/// On the connection's thread (where those bodies run) a statement runs in the call; anywhere
/// else it is sent there first, so a body that strays off the thread is slower but still right.
struct SQLiteThreadDatabase: SQLDatabase {
    let connection: SQLiteThread
    let logger: Logger

    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await execute(sql: query, onRow) }
        return promise.futureResult
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        guard connection.isCurrent else {
            return try await connection.submit { try run(query) { onRow(SQLiteThreadRow(columns: $0, cells: $1)) } }
        }
        try run(query) { onRow(SQLiteThreadRow(columns: $0, cells: $1)) }
    }

    /// The rows of `query` as cells in column order, read in the call on the connection's thread.
    func cells(_ query: any SQLExpression) async throws -> [[SQLiteData]] {
        guard connection.isCurrent else { return try await connection.submit { try cellsHere(query) } }
        return try cellsHere(query)
    }

    private func cellsHere(_ query: any SQLExpression) throws -> [[SQLiteData]] {
        var rows: [[SQLiteData]] = []
        try run(query) { rows.append($1) }
        return rows
    }

    /// The rows of `query`, each made by `read` from the row where SQLite holds it: no cells
    /// are built for them.
    func rows<Row: Sendable>(_ query: any SQLExpression, _ read: @escaping @Sendable (SQLiteRowReader) throws -> Row) async throws -> [Row]
    {
        guard connection.isCurrent else { return try await connection.submit { try rowsHere(query, read) } }
        return try rowsHere(query, read)
    }

    private func rowsHere<Row>(_ query: any SQLExpression, _ read: (SQLiteRowReader) throws -> Row) throws -> [Row] {
        var rows: [Row] = []
        let (sql, binds) = try serialize(query)
        try connection.run(sql, binds) { (row: SQLiteRowReader) in rows.append(try read(row)) }
        return rows
    }

    private func run(_ query: any SQLExpression, _ onRow: (SQLiteColumnNames, [SQLiteData]) throws -> Void) throws {
        let (sql, binds) = try serialize(query)
        try connection.run(sql, binds, onRow)
    }

    private func serialize(_ query: any SQLExpression) throws -> (String, [SQLiteData]) {
        var serializer = SQLSerializer(database: self)
        query.serialize(to: &serializer)
        var binds: [SQLiteData] = []
        binds.reserveCapacity(serializer.binds.count)
        for bind in serializer.binds {
            // The common types directly; anything else through SQLiteKit's encoder (as sqlite-nio would).
            binds.append(try SQLiteData.common(bind) ?? SQLiteDataEncoder().encode(bind))
        }
        return (serializer.sql, binds)
    }
}

/// One result row of the writer's connection, decoded like sqlite-nio's rows.
struct SQLiteThreadRow: SQLRow {
    let columns: SQLiteColumnNames
    let cells: [SQLiteData]

    var allColumns: [String] { columns.names }

    /// One for all rows: a decoder holds a `JSONDecoder`, too much to make per cell.
    private static let decoder = SQLiteDataDecoder()

    func contains(column: String) -> Bool { columns.position(of: column) != nil }

    func decodeNil(column: String) throws -> Bool {
        guard let position = columns.position(of: column) else { return true }
        return cells[position] == .null
    }

    func decode<D: Decodable>(column: String, as: D.Type) throws -> D {
        guard let position = columns.position(of: column) else { throw UnexpectedCell.missing(column) }
        return try Self.decoder.decode(D.self, from: cells[position])
    }
}

extension UnexpectedCell {
    /// A row without the column asked for: the query and its reader disagree.
    static func missing(_ column: String) -> UnexpectedCell { UnexpectedCell(column: column, data: .null) }
}
