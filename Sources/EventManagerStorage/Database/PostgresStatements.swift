import FluentPostgresDriver
import Synchronization

/// Prepared statements for SQL texts known only at run time, such as the event list's, whose
/// text depends on the filters and the sort a request asks for.
///
/// Sent unprepared, a statement is parsed, described and planned again at every request:
/// PostgreSQL spent twice the CPU on an unprepared single read that it spends on a prepared one.
/// Here a text is prepared the first time a connection runs it and kept for the connection's
/// life; at most `capacity` distinct texts are ever prepared, later ones run unprepared, as do
/// those whose plan depends on the values bound (the caller says which, see
/// `postgresRows(_:prepared:)`).
///
/// Statements run through PostgresNIO's future interface (`PreparedQuery.execute`), which hands
/// over all rows at once from the connection's event loop. Its async interface hands them over
/// as a sequence that asks the event loop for more and ends there, two more trips to a thread
/// that may be asleep; at a million events, with few reads served from what the node keeps,
/// those trips were a tenth of a single read's CPU. PostgresNIO labels the rows of a statement
/// prepared this way with the text format its description reported, though PostgreSQL sends
/// them in binary as for every extended query: `PostgresCell`'s readers go by the column's type.
enum PostgresStatements {
    static let capacity = 64

    /// The texts admitted so far: each is prepared on a connection the first time it runs there.
    private static let admitted = Mutex(Set<String>())

    /// Whether `sql` is (or may become) prepared: true for the first `capacity` texts seen.
    static func admits(_ sql: String) -> Bool {
        admitted.withLock { admitted in
            if admitted.contains(sql) { return true }
            guard admitted.count < capacity else { return false }
            admitted.insert(sql)
            return true
        }
    }

    /// A connection's prepared statements by text. The entry holds the connection itself, so its
    /// identifier cannot pass to a new connection while the entry lives; entries of closed
    /// connections go when a new connection prepares its first statement.
    private struct Prepared {
        let connection: PostgresConnection
        var statements: [String: PreparedQuery] = [:]
    }

    private static let statements = Mutex<[ObjectIdentifier: Prepared]>([:])

    /// The rows of `sql`, as a prepared statement when `prepared` and the text is admitted.
    ///
    /// A connection runs one body at a time (`PostgresConnections.with`), so a text is prepared
    /// at most once per connection.
    static func rows(
        _ sql: String, _ binds: [PostgresData], prepared: Bool = true, on connection: PostgresConnection, logger: Logger
    ) async throws -> [PostgresRow] {
        let key = ObjectIdentifier(connection)
        // A text prepared on this connection already was admitted: one look-up on the hot path.
        if prepared, let statement = statements.withLock({ $0[key]?.statements[sql] }) {
            return try await statement.execute(binds).get()
        }
        guard prepared, admits(sql) else {
            // All rows at once, gathered on the connection's event loop, as for prepared ones.
            var bindings = PostgresBindings(capacity: binds.count)
            for bind in binds { bindings.append(bind) }
            return Array(try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).get())
        }
        let statement = try await connection.prepare(query: sql).get()
        statements.withLock { statements in
            if statements[key] == nil {
                statements = statements.filter { !$0.value.connection.isClosed }
                statements[key] = Prepared(connection: connection)
            }
            statements[key]?.statements[sql] = statement
        }
        return try await statement.execute(binds).get()
    }
}
