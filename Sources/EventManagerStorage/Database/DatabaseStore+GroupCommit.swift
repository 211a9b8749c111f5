import EventManagerCore
import FluentKit
import FluentSQLiteDriver
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

/// How a group of SQLite writes runs (see `GroupCommit`): on the writer's connection, in one
/// transaction, optimistically without savepoints and with them when a member fails.
extension DatabaseStore {
    /// Runs one group of SQLite writes in one transaction and settles every member.
    func commitGroup(_ members: [GroupCommit.Member]) async {
        usage.inFlight.add(1, ordering: .relaxed)
        defer { usage.inFlight.subtract(1, ordering: .relaxed) }
        let outcomes: [Result<Void, any Error>]
        do {
            outcomes = try await writers.withLock {
                try await self.withGroupConnection { sql in
                    try await sql.raw("BEGIN IMMEDIATE").run()
                    do {
                        // Optimistically all in a row, no savepoints: two statements per write fewer
                        // for the usual group in which every write succeeds. When one fails, the
                        // group starts over with a savepoint around each write.
                        if try await Self.runAll(members, on: sql) {
                            try await sql.raw("COMMIT").run()
                            return members.map { _ in .success(()) }
                        }
                        try await sql.raw("ROLLBACK").run()
                        try await sql.raw("BEGIN IMMEDIATE").run()
                        let outcomes = try await Self.runMembers(members, on: sql)
                        try await sql.raw("COMMIT").run()
                        return outcomes
                    } catch {
                        try? await sql.raw("ROLLBACK").run()
                        throw error
                    }
                }
            }
        } catch {
            for member in members { member.continuation.resume(throwing: error) }
            return
        }
        for (member, outcome) in zip(members, outcomes) { member.continuation.resume(with: outcome) }
    }

    /// Runs a group's `body` on the writer's connection, or for an in-memory database on one
    /// connection of the pool.
    private func withGroupConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        if let sqliteWriter {
            guard !isShutDown.load(ordering: .relaxed) else { throw StorageError.closed }
            return try await body(SQLiteThreadDatabase(connection: sqliteWriter, logger: logger))
        }
        return try await withSQLiteConnection { sql in
            try await self.limitBusyWait(sql)
            return try await body(sql)
        }
    }

    /// Runs `body` on one SQLite connection of the pool, each statement a single trip to the
    /// blocking pool and back.
    ///
    /// Through Fluent's handle a statement also hops to the event loop for every row and again
    /// for the result; in a group commit those hops, one statement after another, were most of
    /// the group's time on a busy machine (about 0.8 ms per statement, against 0.4 ms for the fsync).
    func withSQLiteConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard let database = try database() as? any SQLiteDatabase else { throw StorageError.notSQLite }
        return try await database.withConnection { (connection: SQLiteConnection) in
            try await body(connection.sql(encoder: SQLiteDataEncoder(), decoder: SQLiteDataDecoder(), queryLogLevel: nil))
        }
    }

    /// Runs every member; false as soon as one throws (the caller then rolls back and runs them
    /// again with `runMembers`). A lone member's failure is its own: it is thrown.
    private static func runAll(_ members: [GroupCommit.Member], on sql: any SQLDatabase) async throws -> Bool {
        if members.count == 1 {
            try await members[0].body(sql)
            return true
        }
        for member in members {
            do { try await member.body(sql) } catch { return false }
        }
        return true
    }

    /// Runs each member in its own savepoint; a member that throws is rolled back alone.
    /// A lone member needs no savepoint: its failure rolls back the whole (its own) transaction.
    private static func runMembers(_ members: [GroupCommit.Member], on sql: any SQLDatabase) async throws -> [Result<Void, any Error>] {
        if members.count == 1 {
            try await members[0].body(sql)
            return [.success(())]
        }
        var outcomes: [Result<Void, any Error>] = []
        outcomes.reserveCapacity(members.count)
        for member in members {
            try await sql.raw("SAVEPOINT member").run()
            do {
                try await member.body(sql)
                try await sql.raw("RELEASE member").run()
                outcomes.append(.success(()))
            } catch {
                // If SQLite already ended the transaction (a full disk), this throws and the group fails.
                try await sql.raw("ROLLBACK TO member").run()
                try await sql.raw("RELEASE member").run()
                outcomes.append(.failure(error))
            }
        }
        return outcomes
    }

    /// Bounds how long a SQLite write waits for a lock held by another process (another tool
    /// on the same file): sqlite-nio's own handler would retry for ever. Past the bound the
    /// write fails as busy, and the client gets a 503 to retry.
    func limitBusyWait(_ sql: any SQLDatabase) async throws {
        guard isSQLite else { return }
        try await sql.raw("PRAGMA busy_timeout = \(unsafeRaw: String(busyTimeoutMilliseconds))").run()
    }
}
