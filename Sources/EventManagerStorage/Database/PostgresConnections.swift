import AsyncKit
import FluentPostgresDriver
import Logging
import NIOCore
import PostgresNIO
import SQLKit

/// This node's PostgreSQL connections: a body of `read`, `write` or `transaction` holds one for
/// as long as it runs.
///
/// Through Fluent's database handle every statement asked the pool for a connection and read its
/// rows through SQLKit's Codable decoder by column name; in a profile of `GET /events/{id}` on an
/// API node that and the PostgreSQL wire protocol's row descriptions (sent again for every
/// unnamed statement) were most of the server's work beyond HTTP. Holding the connection lets hot
/// reads use it directly: prepared statements (parsed and described once per connection) and
/// rows decoded by position (see `postgresRows`). Fluent opens a connection of its own only to
/// migrate (`DatabaseStore.withMigrator`).
///
/// `@unchecked`: AsyncKit's pool guards its state with its own lock and per-loop pools that run
/// on their event loop, but does not say so to the compiler.
final class PostgresConnections: @unchecked Sendable {
    private let pool: EventLoopGroupConnectionPool<PostgresConnectionSource>
    private let logger: Logger

    init(configuration: SQLPostgresConfiguration, perLoop: Int, logger: Logger, on eventLoopGroup: any EventLoopGroup) {
        self.logger = logger
        pool = EventLoopGroupConnectionPool(
            source: PostgresConnectionSource(sqlConfiguration: configuration), maxConnectionsPerEventLoop: perLoop,
            requestTimeout: .seconds(10), pruneInterval: .seconds(60), logger: logger, on: eventLoopGroup)
    }

    /// Runs `body` with a connection of the pool, returned to it afterwards.
    func with<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await pool.requestConnection(logger: logger).get()
        defer { pool.releaseConnection(connection, logger: logger) }
        return try await body(connection)
    }

    func shutdown() async {
        try? await pool.shutdownAsync()
    }
}

extension SQLDatabase {
    /// The PostgreSQL connection under a handle of `read` or `write`, for prepared statements;
    /// nil on SQLite.
    var postgresConnection: PostgresConnection? { (self as? MeteredSQLDatabase)?.postgresConnection }

    /// The rows of `query` for reading by position when this is a PostgreSQL handle; nil
    /// otherwise, or when a bind is of a type other than the common ones (the caller then reads
    /// through SQLKit).
    ///
    /// - Parameter prepared: whether PostgreSQL may keep the statement and its plan (see
    ///   `PostgresStatements`): only for statements whose best plan does not depend on the values
    ///   bound. A generic plan for a filtered list (a date and a popularity range) cost PostgreSQL
    ///   2.4 times the CPU of planning it each time.
    func postgresRows(_ query: SQLQueryString, prepared: Bool = false) async throws -> [PostgresRow]? {
        guard let connection = postgresConnection else { return nil }
        var serializer = SQLSerializer(database: self)
        query.serialize(to: &serializer)
        var bindings = PostgresBindings(capacity: serializer.binds.count)
        for bind in serializer.binds {
            switch bind {
            case let value as Int64: bindings.append(value)
            case let value as Int: bindings.append(Int64(value))
            case let value as String: bindings.append(value)
            case let value as Double: bindings.append(value)
            case let value as Bool: bindings.append(value)
            default: return nil
            }
        }
        let usage = (self as? MeteredSQLDatabase)?.usage
        usage?.inFlight.add(1, ordering: .relaxed)
        defer { usage?.inFlight.subtract(1, ordering: .relaxed) }
        if prepared, let rows = try await PostgresStatements.rows(serializer.sql, bindings, on: connection, logger: logger) {
            return rows
        }
        // All rows at once, gathered on the connection's event loop: iterating the async row
        // sequence cost a suspension per row.
        let result = try await connection.query(PostgresQuery(unsafeSQL: serializer.sql, binds: bindings), logger: logger).get()
        return Array(result)
    }
}
