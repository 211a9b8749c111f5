import AsyncKit
import FluentPostgresDriver
import Logging
import NIOCore
import PostgresNIO
import SQLKit
import Synchronization

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
/// A connection a body gave back waits on a shelf, taken and returned under a lock: asking
/// AsyncKit's pool for one and giving it back each cost a trip to an event loop and back to the
/// Swift executor, two thread wake-ups of the five or so a single read on an API node made (its
/// profile at a million events: a sixth of the server's samples in task switches). The pool still
/// opens connections, replaces closed ones and queues requests while every connection is busy;
/// a connection goes back to it whenever one of those requests waits, so none waits for a
/// connection idling on the shelf.
///
/// `@unchecked`: AsyncKit's pool guards its state with its own lock and per-loop pools that run
/// on their event loop, but does not say so to the compiler.
final class PostgresConnections: @unchecked Sendable {
    private struct Shelf {
        var idle: [PostgresConnection] = []
        /// Requests waiting on the pool right now.
        var waiting = 0
    }

    private let pool: EventLoopGroupConnectionPool<PostgresConnectionSource>
    private let shelf = Mutex(Shelf())
    private let logger: Logger

    init(configuration: SQLPostgresConfiguration, perLoop: Int, logger: Logger, on eventLoopGroup: any EventLoopGroup) {
        self.logger = logger
        pool = EventLoopGroupConnectionPool(
            source: PostgresConnectionSource(sqlConfiguration: configuration), maxConnectionsPerEventLoop: perLoop,
            requestTimeout: .seconds(10), pruneInterval: .seconds(60), logger: logger, on: eventLoopGroup)
    }

    /// Runs `body` with a connection from the shelf or the pool, given back afterwards.
    func with<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await take()
        defer { giveBack(connection) }
        return try await body(connection)
    }

    private func take() async throws -> PostgresConnection {
        var closed: [PostgresConnection] = []
        let shelved = shelf.withLock { shelf -> PostgresConnection? in
            while let connection = shelf.idle.popLast() {
                if !connection.isClosed { return connection }
                closed.append(connection)
            }
            shelf.waiting += 1
            return nil
        }
        for connection in closed { pool.releaseConnection(connection, logger: logger) }
        if let shelved { return shelved }
        defer { shelf.withLock { $0.waiting -= 1 } }
        return try await pool.requestConnection(logger: logger).get()
    }

    /// Shelves `connection`, or gives it to the pool when a request waits there (or it closed).
    private func giveBack(_ connection: PostgresConnection) {
        let shelved = shelf.withLock { shelf in
            guard shelf.waiting == 0, !connection.isClosed else { return false }
            shelf.idle.append(connection)
            return true
        }
        if !shelved { pool.releaseConnection(connection, logger: logger) }
    }

    func shutdown() async {
        let idle = shelf.withLock { shelf in
            defer { shelf.idle = [] }
            return shelf.idle
        }
        for connection in idle { pool.releaseConnection(connection, logger: logger) }
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
        var binds: [PostgresData] = []
        binds.reserveCapacity(serializer.binds.count)
        for bind in serializer.binds {
            switch bind {
            case let value as Int64: binds.append(PostgresData(int64: value))
            case let value as Int: binds.append(PostgresData(int64: Int64(value)))
            case let value as String: binds.append(PostgresData(string: value))
            case let value as Double: binds.append(PostgresData(double: value))
            case let value as Bool: binds.append(PostgresData(bool: value))
            default: return nil
            }
        }
        let usage = (self as? MeteredSQLDatabase)?.usage
        usage?.inFlight.add(1, ordering: .relaxed)
        defer { usage?.inFlight.subtract(1, ordering: .relaxed) }
        return try await PostgresStatements.rows(serializer.sql, binds, prepared: prepared, on: connection, logger: logger)
    }
}
