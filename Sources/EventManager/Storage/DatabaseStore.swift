import FluentKit
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit

/// The open database: connection pools, migrations and transactions, for either backend.
public final class DatabaseStore: Sendable {
    public let databases: Databases
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let isSQLite: Bool

    /// Opens (and for a SQLite file, creates) the database. Call `migrate()` before use.
    public init(
        url: DatabaseURL, logger: Logger, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool = .singleton
    ) throws {
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.databases = Databases(threadPool: threadPool, on: eventLoopGroup)
        switch url {
        case .sqliteMemory:
            databases.use(.sqlite(.memory, sqlLogLevel: .trace), as: .sqlite)
        case .sqliteFile(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            databases.use(.sqlite(.file(path), sqlLogLevel: .trace), as: .sqlite)
        }
        isSQLite = true
    }

    /// A handle on the pool of one event loop; handles are cheap, so take one per operation.
    /// - Throws: `StorageError.closed` after `shutdown()`.
    public func database() throws -> any Database {
        guard let database = databases.database(logger: logger, on: eventLoopGroup.any()) else { throw StorageError.closed }
        return database
    }

    public func sql() throws -> any SQLDatabase {
        try database() as! any SQLDatabase
    }

    /// Applies every migration not yet applied; safe to run on every start.
    public func migrate() async throws {
        if isSQLite {
            // WAL lets readers run beside the writer; the mode is stored in the file.
            // synchronous stays at SQLite's default FULL, so a commit is on disk before we answer.
            try await sql().raw("PRAGMA journal_mode=WAL").run()
        }
        try await migrator().setupIfNeeded().get()
        try await migrator().prepareBatch().get()
    }

    /// Reverts the last batch of migrations (the `migrate --revert` command).
    public func revertLastBatch() async throws {
        try await migrator().setupIfNeeded().get()
        try await migrator().revertLastBatch().get()
    }

    private func migrator() -> Migrator {
        let migrations = Migrations()
        migrations.add(SchemaMigrations.all)
        return Migrator(databases: databases, migrations: migrations, logger: logger, on: eventLoopGroup.any(), migrationLogLevel: .debug)
    }

    /// Runs `body` in one transaction on one connection.
    ///
    /// SQLite transactions start with `BEGIN IMMEDIATE`: taking the write lock up front means two
    /// writers queue instead of deadlocking when both try to upgrade a read lock.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let begin = isSQLite ? "BEGIN IMMEDIATE" : "BEGIN"
        return try await database().withConnection { connection in
            let sql = connection as! any SQLDatabase
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

    public func shutdown() async {
        await databases.shutdownAsync()
    }
}
