import EventManagerCore
import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

/// The open database: connection pools, migrations and the three ways to use it, for either backend.
///
/// Code reaches the database only through `read`, `write` and `transaction`: writes on SQLite
/// queue behind this process's other writers of the same file (see `WriterLock`), whichever store
/// opened it, and reads get a handle that (in the test process) refuses to write.
public final class DatabaseStore: Sendable {
    /// Fluent's databases: SQLite's pool, and on PostgreSQL nothing (migrations open their own).
    private let databases: Databases
    private let threadPool: NIOThreadPool
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    package let isSQLite: Bool
    /// The server's settings when the backend is PostgreSQL (LISTEN needs its own connection).
    let postgres: SQLPostgresConfiguration?
    /// Connections this node may open at most (`db.pool_size`).
    public let poolSize: Int
    /// On SQLite, how long a write waits for another process's lock before it fails as busy.
    let busyTimeoutMilliseconds: Int
    /// Where the database is.
    package let url: DatabaseURL
    /// Queries and transactions running now: the pool's usage.
    let usage = PoolUsage()
    /// Serialises this process's writers of one SQLite file (see `WriterLock`).
    let writers: WriterLock
    /// Batches this store's SQLite writes into shared transactions.
    package let groups: GroupCommit
    /// A SQLite file's writing connection on its own thread (not for an in-memory database,
    /// whose name only the pool knows): group commits run there.
    let sqliteWriter: SQLiteThread?
    /// A SQLite file's reading connections, each on its own thread; empty for other databases.
    let sqliteReaders: [SQLiteThread]
    /// PostgreSQL's connections for reads, writes and transactions (Fluent's pool only migrates).
    let postgresConnections: PostgresConnections?
    let isShutDown = Atomic<Bool>(false)

    /// Reading connections of a SQLite file: enough that one slow search does not hold up the
    /// single reads behind it.
    static let sqliteReaderCount = 4

    /// Opens (and for a SQLite file, creates) the database. Call `migrate()` before use.
    ///
    /// - Parameter poolSize: PostgreSQL connections for this process, spread over its event loops.
    public init(
        url: DatabaseURL, poolSize: Int = 10, busyTimeoutMilliseconds: Int = 5000, logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool = .singleton
    ) throws {
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.url = url
        self.databases = Databases(threadPool: threadPool, on: eventLoopGroup)
        self.threadPool = threadPool
        var loops = 0
        for _ in eventLoopGroup.makeIterator() { loops += 1 }
        let perLoop = max(1, (poolSize + max(1, loops) - 1) / max(1, loops))
        self.poolSize = perLoop * max(1, loops)
        switch url {
        case .sqliteMemory:
            databases.use(.sqlite(.memory, sqlLogLevel: .trace), as: .sqlite)
            isSQLite = true
            postgres = nil
            writers = WriterLock()
            sqliteWriter = nil
            sqliteReaders = []
            postgresConnections = nil
        case .sqliteFile(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            databases.use(.sqlite(.file(path), sqlLogLevel: .trace), as: .sqlite)
            isSQLite = true
            postgres = nil
            writers = WriterLock.forFile(path)
            sqliteWriter = SQLiteThread(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, readOnly: false)
            sqliteReaders = (0..<Self.sqliteReaderCount).map { _ in
                SQLiteThread(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, readOnly: true)
            }
            postgresConnections = nil
        case .postgres(let text):
            guard let parsed = URL(string: text) else { throw StorageError.badURL(url.redacted) }
            let configuration = try SQLPostgresConfiguration(url: parsed)
            isSQLite = false
            postgres = configuration
            writers = WriterLock()
            sqliteWriter = nil
            sqliteReaders = []
            postgresConnections = PostgresConnections(configuration: configuration, perLoop: perLoop, logger: logger, on: eventLoopGroup)
        }
        groups = GroupCommit(executor: sqliteWriter)
    }

    /// A handle on the pool of one event loop; handles are cheap, so take one per operation.
    /// - Throws: `StorageError.closed` after `shutdown()`.
    func database() throws -> any Database {
        guard let database = databases.database(logger: logger, on: eventLoopGroup.any()) else { throw StorageError.closed }
        return database
    }

    private func sql(readOnly: Bool) throws -> any SQLDatabase {
        MeteredSQLDatabase(base: try database() as! any SQLDatabase, usage: usage, readOnly: readOnly)
    }

    /// Runs reads on the pool, or for a SQLite file on the least busy reading connection's
    /// thread (see `SQLiteThread`). The handle refuses statements that write (SQLite's
    /// `query_only`, or a check in the test process), so no write can slip past the SQLite
    /// writer queue.
    public func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await translatingUnavailability {
            guard let reader = sqliteReaders.min(by: { $0.load.load(ordering: .relaxed) < $1.load.load(ordering: .relaxed) }) else {
                if let postgresConnections {
                    return try await postgresConnections.with {
                        try await body(MeteredSQLDatabase(postgres: $0, usage: usage, readOnly: true))
                    }
                }
                return try await body(sql(readOnly: true))
            }
            guard !isShutDown.load(ordering: .relaxed) else { throw StorageError.closed }
            reader.load.add(1, ordering: .relaxed)
            usage.inFlight.add(1, ordering: .relaxed)
            defer {
                reader.load.subtract(1, ordering: .relaxed)
                usage.inFlight.subtract(1, ordering: .relaxed)
            }
            return try await withTaskExecutorPreference(reader) {
                try await body(SQLiteThreadDatabase(connection: reader, logger: logger))
            }
        }
    }

    /// Applies every migration not yet applied; safe to run on every start, from several nodes at once.
    public func migrate() async throws {
        if isSQLite {
            // WAL lets readers run beside the writer; the mode is stored in the file.
            // synchronous stays at SQLite's default FULL, so a commit is on disk before we answer.
            try await sql(readOnly: false).raw("PRAGMA journal_mode=WAL").run()
            try await runMigrations()
            try await SearchIndex.completeIfNeeded(on: self, logger: logger)
        } else {
            // Nodes that start together take turns: the first migrates, the others find it done.
            // The lock lives on a connection of its own so the migrator keeps the whole pool.
            try await withDedicatedConnection { connection in
                _ = try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLockKey))", logger: self.logger)
                do {
                    try await self.runMigrations()
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: self.logger)
                    throw error
                }
                _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: self.logger)
            }
        }
    }

    /// Opens a PostgreSQL connection outside the pool (advisory locks, LISTEN), closed after `body`.
    func withDedicatedConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        guard let postgres else { throw StorageError.notPostgres }
        let connection = try await PostgresConnection.connect(
            on: eventLoopGroup.any(), configuration: postgres.coreConfiguration, id: Int.random(in: 1...Int.max), logger: logger)
        do {
            let value = try await body(connection)
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static let migrationLockKey = 7_301_994_022

    /// Migrations write, so on SQLite they queue with every other writer of the file.
    private func runMigrations() async throws {
        try await withMigrator { migrator in
            try await migrator.setupIfNeeded().get()
            try await migrator.prepareBatch().get()
        }
    }

    /// Reverts the last batch of migrations (the `migrate --revert` command).
    public func revertLastBatch() async throws {
        try await withMigrator { migrator in
            try await migrator.setupIfNeeded().get()
            try await migrator.revertLastBatch().get()
        }
    }

    /// Fluent's migrator, on SQLite over the store's pool; on PostgreSQL over a connection of its
    /// own, closed afterwards (the store's queries use `PostgresConnections`).
    private func withMigrator(_ body: (Migrator) async throws -> Void) async throws {
        let migrations = Migrations()
        migrations.add(SchemaMigrations.all)
        guard let postgres else {
            try await writers.withLock {
                try await body(
                    Migrator(
                        databases: databases, migrations: migrations, logger: logger, on: eventLoopGroup.any(), migrationLogLevel: .debug))
            }
            return
        }
        let fluent = Databases(threadPool: threadPool, on: eventLoopGroup)
        fluent.use(
            .postgres(
                configuration: postgres, maxConnectionsPerEventLoop: 1, connectionPoolTimeout: .seconds(10),
                encodingContext: .default, decodingContext: .default, sqlLogLevel: .trace),
            as: .psql)
        let loop = eventLoopGroup.any()
        do {
            try await body(Migrator(databases: fluent, migrations: migrations, logger: logger, on: loop, migrationLogLevel: .debug))
        } catch {
            await fluent.shutdownAsync()
            throw error
        }
        await fluent.shutdownAsync()
    }

    /// Runs `body` in one transaction on one connection.
    ///
    /// On SQLite the transaction may be shared: bodies waiting at the same moment run one after
    /// another in one `BEGIN IMMEDIATE` transaction, each in its own savepoint, and commit together
    /// (see `GroupCommit`); a body that throws still undoes only its own statements. PostgreSQL
    /// runs each at READ COMMITTED; code that reads before it writes takes row locks (`FOR UPDATE`).
    ///
    /// Under an `Idempotency-Key` (`IdempotentWrite.current`), the answer rendered from the
    /// body's result is recorded in the same transaction.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let body = Self.recordingIdempotentAnswer(body)
        return try await translatingUnavailability {
            guard isSQLite else { return try await runTransaction(begin: "BEGIN", body) }
            let result = ResultSlot<T>()
            try await groups.submit({ sql in result.store(try await body(sql)) }, runGroup: { await self.commitGroup($0) })
            return result.take()
        }
    }

    /// Runs a write outside an explicit transaction (one statement or several independent ones).
    /// On SQLite it joins the next group commit like a transaction does.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        // A write under an idempotency key records its answer in a transaction with it.
        guard isSQLite || IdempotentWrite.current != nil else {
            return try await translatingUnavailability {
                guard let postgresConnections else { return try await body(sql(readOnly: false)) }
                return try await postgresConnections.with {
                    try await body(MeteredSQLDatabase(postgres: $0, usage: usage, readOnly: false))
                }
            }
        }
        return try await transaction(body)
    }

    /// `body`, followed in its transaction by the recording of the current idempotent request's
    /// answer when one is rendered from its result. The task-local is read here, in the
    /// caller's task: on SQLite another task may run the body (`GroupCommit`).
    static func recordingIdempotentAnswer<T: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) -> @Sendable (any SQLDatabase) async throws -> T {
        guard let write = IdempotentWrite.current else { return body }
        return { sql in
            let result = try await body(sql)
            if let answer = write.response(for: result) {
                try await SQLIdempotencyStore.record(answer, scope: write.scope, key: write.key, on: sql)
            }
            return result
        }
    }

    /// A PostgreSQL transaction on one connection of the pool.
    private func runTransaction<T: Sendable>(
        begin: String, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        guard let postgresConnections else { throw StorageError.notPostgres }
        usage.inFlight.add(1, ordering: .relaxed)
        defer { usage.inFlight.subtract(1, ordering: .relaxed) }
        return try await postgresConnections.with { connection in
            let sql = connection.sql(queryLogLevel: .trace)
            try await sql.raw(SQLQueryString(begin)).run()
            do {
                let result = try await body(sql)
                try await sql.raw("COMMIT").run()
                return result
            } catch {
                try? await sql.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// `FOR UPDATE` on PostgreSQL; nothing on SQLite, whose writers are serialized already.
    var forUpdate: SQLQueryString { isSQLite ? "" : " FOR UPDATE" }

    /// `FOR SHARE` on PostgreSQL; nothing on SQLite.
    var forShare: SQLQueryString { isSQLite ? "" : " FOR SHARE" }

    /// Connections in use right now (queries and transactions), for the pool gauge.
    public var connectionsInUse: Int { min(poolSize, usage.inFlight.load(ordering: .relaxed)) }

    /// Closes every connection; later calls do nothing, and later use throws `StorageError.closed`.
    public func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .relaxed) else { return }
        await sqliteWriter?.close()
        for reader in sqliteReaders { await reader.close() }
        await postgresConnections?.shutdown()
        await databases.shutdownAsync()
    }
}

/// How many queries and transactions hold a connection right now.
final class PoolUsage: Sendable {
    let inFlight = Atomic<Int>(0)
}

/// Counts queries while they run; everything else is the wrapped database's.
struct MeteredSQLDatabase: SQLDatabase {
    let base: any SQLDatabase
    let usage: PoolUsage
    /// Handed out by `read`: a statement that writes is a programming error.
    let readOnly: Bool
    /// The PostgreSQL connection `base` runs on, for hot reads that use it directly.
    var postgresConnection: PostgresConnection?

    init(base: any SQLDatabase, usage: PoolUsage, readOnly: Bool) {
        self.base = base
        self.usage = usage
        self.readOnly = readOnly
    }

    /// A handle on one connection of the node's PostgreSQL pool.
    init(postgres connection: PostgresConnection, usage: PoolUsage, readOnly: Bool) {
        self.init(base: connection.sql(queryLogLevel: .trace), usage: usage, readOnly: readOnly)
        postgresConnection = connection
    }

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        checkReadOnly(query)
        usage.inFlight.add(1, ordering: .relaxed)
        return base.execute(sql: query, onRow).always { [usage] _ in usage.inFlight.subtract(1, ordering: .relaxed) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        checkReadOnly(query)
        usage.inFlight.add(1, ordering: .relaxed)
        defer { usage.inFlight.subtract(1, ordering: .relaxed) }
        try await base.execute(sql: query, onRow)
    }
}

extension MeteredSQLDatabase {
    /// The test process refuses a write through a read handle. Serializing every read to look
    /// at it costs too much to do in a server, even a debug one (CI's process tests run those).
    static let checksReads = CommandLine.arguments.first?.hasSuffix(".xctest") ?? false

    @inline(__always)
    func checkReadOnly(_ query: any SQLExpression) {
        #if DEBUG
            guard readOnly, Self.checksReads else { return }
            let sql = base.serialize(query).sql
            let text = sql.drop(while: { $0 == " " || $0 == "(" }).prefix(7).uppercased()
            precondition(
                text.hasPrefix("SELECT") || text.hasPrefix("WITH") || text.hasPrefix("EXPLAIN")
                    || (text.hasPrefix("PRAGMA") && !sql.contains("=")),
                "a write went through DatabaseStore.read: \(base.serialize(query).sql)")
        #endif
    }
}

extension Error {
    /// A unique or foreign key constraint refused the write (a concurrent duplicate, usually).
    var isConstraintFailure: Bool { (self as? any DatabaseError)?.isConstraintFailure ?? false }
}
