import SQLKit
import SQLiteNIO

/// Reading SQLite rows by column position, without SQLKit's Codable row decoder.
///
/// Decoding a page of 100 events through `SQLRow.decode(column:as:)` looks every column up by
/// name and runs a generic `Decoder` per cell; in a profile of `GET /events?limit=100` that was a
/// quarter of the server's CPU (generic metadata look-ups, dynamic casts). Hot reads ask for
/// their columns in a known order, so they can take the cells as they come.
extension SQLDatabase {
    /// The rows of `query`, each made by `read` where SQLite holds it, when this is one of our
    /// own SQLite connections (reads, group commits); nil otherwise.
    func sqliteRows<Row: Sendable>(_ query: SQLQueryString, _ read: @escaping @Sendable (SQLiteRowReader) throws -> Row) async throws
        -> [Row]?
    {
        guard let connection = self as? SQLiteThreadDatabase else { return nil }
        return try await connection.rows(query, read)
    }

    /// The rows of `query` as cells in column order when this is a SQLite handle; nil otherwise
    /// (the caller then reads through SQLKit).
    func sqliteCells(_ query: SQLQueryString) async throws -> [[SQLiteData]]? {
        if let connection = self as? SQLiteThreadDatabase { return try await connection.cells(query) }
        guard let metered = self as? MeteredSQLDatabase, let database = metered.base as? any SQLiteDatabase else { return nil }
        var serializer = SQLSerializer(database: self)
        query.serialize(to: &serializer)
        var binds: [SQLiteData] = []
        binds.reserveCapacity(serializer.binds.count)
        for bind in serializer.binds {
            // A value of another type: let SQLKit's encoder handle the whole query.
            guard let value = SQLiteData.common(bind) else { return nil }
            binds.append(value)
        }
        metered.usage.inFlight.add(1, ordering: .relaxed)
        defer { metered.usage.inFlight.subtract(1, ordering: .relaxed) }
        return try await database.query(serializer.sql, binds).map { row in row.columns.map(\.data) }
    }
}

extension SQLiteData {
    /// A bind of the common types (the ones our queries use), without SQLiteKit's encoder; nil
    /// for any other type.
    static func common(_ bind: any Encodable & Sendable) -> SQLiteData? {
        switch bind {
        case let value as Int64: .integer(Int(value))
        case let value as Int: .integer(value)
        case let value as String: .text(value)
        case let value as Double: .float(value)
        case let value as Bool: .integer(value ? 1 : 0)
        default: nil
        }
    }
}

/// A cell that did not hold what its column should: the schema and the query disagree.
struct UnexpectedCell: Error, CustomStringConvertible {
    let column: String
    let data: SQLiteData
    var description: String { "column \(column) held \(data)" }
}

extension SQLiteData {
    func int64(_ column: String) throws -> Int64 {
        guard case .integer(let value) = self else { throw UnexpectedCell(column: column, data: self) }
        return Int64(value)
    }

    func optionalInt64(_ column: String) throws -> Int64? {
        if case .null = self { return nil }
        return try int64(column)
    }

    func string(_ column: String) throws -> String {
        guard case .text(let value) = self else { throw UnexpectedCell(column: column, data: self) }
        return value
    }

    func bool(_ column: String) throws -> Bool {
        try int64(column) != 0
    }
}
