import Foundation
import HummingbirdTesting
import Logging
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

/// A database that cannot serve is the client's "try again", never a 500 with internals.
@Suite(.resources, .timeLimit(.minutes(1))) struct UnavailableDatabaseTests {
    /// Another process holds the SQLite file's write lock (`BEGIN EXCLUSIVE` from Python's
    /// sqlite3): a write waits `db.busy_timeout_ms`, then gets 503 with `Retry-After`; reads go
    /// on; once the lock is gone, the same write succeeds.
    @Test func aSQLiteFileLockedByAnotherProcessAnswers503ThenRecovers() async throws {
        let configure: (inout AppConfiguration) -> Void = { $0.busyTimeoutMilliseconds = 200 }
        try await withTestApp(configure: configure) { client, inspect async throws in
            let path = try #require(inspect.sqlitePath)
            let locker = try ForeignLock(path: path)
            let refused = try await client.send(.post, "/events", json: #"{"title":"t","location":"l","date":"2030-01-01"}"#)
            #expect(refused.status == .serviceUnavailable)
            #expect(try refused.errorCode() == "database_unavailable")
            #expect(refused.headers[.retryAfter] == "1")
            #expect(!String(buffer: refused.body).contains("SQLite"), "no internals")
            #expect(try await client.send(.get, "/events").status == .ok, "readers do not wait for the writer (WAL)")
            await locker.release()
            #expect(try await client.send(.post, "/events", json: #"{"title":"t","location":"l","date":"2030-01-01"}"#).status == .created)
        }
    }

    @Test func aDatabaseThatIsGoneIsUnavailableNotABug() async throws {
        let store = try DatabaseStore(url: .postgres(url: "postgres://nobody@127.0.0.1:1/none"), poolSize: 1, logger: Logger(label: "t"))
        try TestResources.current().onEnd { await store.shutdown() }
        await #expect(throws: AppError.databaseUnavailable) { try await store.read { try await $0.raw("SELECT 1").run() } }
        let closed = try await TemporaryDatabase.make().open()
        await closed.shutdown()
        await #expect(throws: AppError.databaseUnavailable) { try await closed.read { try await $0.raw("SELECT 1").run() } }
    }
}

/// A Python process that holds an exclusive lock on a SQLite file until released.
final class ForeignLock: Sendable {
    private let process: Process
    private let input: Pipe

    init(path: String) throws {
        process = Process()
        input = Pipe()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\nsys.stdin.read()\nc.execute('ROLLBACK')",
            path,
        ]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        try TestResources.current().own(process, name: "the SQLite lock holder")
        // Blocks until the lock is held: the line is written only then.
        _ = output.fileHandleForReading.availableData
    }

    /// Ends the lock and waits for the holder to exit.
    func release() async {
        try? input.fileHandleForWriting.close()
        let process = self.process
        await withCheckedContinuation { continuation in
            Thread {
                process.waitUntilExit()
                continuation.resume()
            }.start()
        }
    }
}

extension DatabaseStore {
    var sqlitePath: String? {
        if case .sqliteFile(let path) = url { return path }
        return nil
    }
}

extension AppError: Equatable {
    public static func == (lhs: AppError, rhs: AppError) -> Bool { lhs.code == rhs.code && lhs.kind == rhs.kind }
}
