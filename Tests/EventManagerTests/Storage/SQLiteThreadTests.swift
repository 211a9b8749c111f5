import Foundation
import SQLKit
import Testing

@testable import EventManagerCore
@testable import EventManagerStorage

/// A SQLite file's reads and group commits run on connections of their own threads, with
/// statements prepared once (`SQLiteThread`): what they answer must not depend on that.
@Suite(.resources, .timeLimit(.minutes(2))) struct SQLiteThreadTests {
    @Test func aReadHandleRefusesToWrite() async throws {
        let store = try await TemporaryDatabase.make().open()
        await #expect(throws: (any Error).self) {
            try await store.read { sql in
                try await sql.raw("INSERT INTO accounts (name, role, created_at) VALUES ('sneaky', 'admin', 0)").run()
            }
        }
        let count = try await store.read {
            try await $0.raw("SELECT COUNT(*) AS n FROM accounts").first()!.decode(column: "n", as: Int.self)
        }
        #expect(count == 0)
    }

    @Test func readsSeeEveryCommittedWriteOnEveryReader() async throws {
        let store = try await TemporaryDatabase.make().open()
        for round in 1...12 {
            try await store.write { sql in
                try await sql.raw(
                    "INSERT INTO events (title, location, starts_at, timezone, date_only, popularity, created_at, updated_at) VALUES ('e', 'x', 0, 'UTC', 0, 0, 0, 0)"
                ).run()
            }
            // As many concurrent reads as there are readers and more, so every reader answers;
            // a statement left unreset would pin an older snapshot and count fewer.
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<(DatabaseStore.sqliteReaderCount * 2) {
                    group.addTask {
                        try await store.read {
                            try await $0.raw("SELECT COUNT(*) AS n FROM events").first()!.decode(column: "n", as: Int.self)
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(counts.allSatisfy { $0 == round }, "round \(round): \(counts)")
        }
    }

    @Test func moreDistinctStatementsThanTheCacheHoldsStillAnswerRight() async throws {
        let store = try await TemporaryDatabase.make().open()
        // 300 texts on the writer and on a reader (the cache keeps 256), each run twice.
        for pass in 0..<2 {
            for value in 0..<300 {
                let written = try await store.write { sql in
                    try await sql.raw("SELECT \(unsafeRaw: String(value)) + \(bind: pass) AS v").first()!.decode(column: "v", as: Int.self)
                }
                let read = try await store.read { sql in
                    try await sql.raw("SELECT \(unsafeRaw: String(value)) * 2 + \(bind: pass) AS v").first()!.decode(
                        column: "v", as: Int.self)
                }
                #expect(written == value + pass && read == value * 2 + pass)
            }
        }
    }

    /// The kept statement of a text is marked in use while it runs: the same text run again
    /// inside (while the first one's rows are read) gets a statement of its own, and the kept
    /// one is still there afterwards.
    @Test func aTextRunWhileItsOwnRowsAreReadGetsAStatementOfItsOwn() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("em-thread-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let connection = SQLiteThread(
            path: directory.appendingPathComponent("t.sqlite").path, busyTimeoutMilliseconds: 1000, readOnly: false)
        let text = "SELECT value FROM (SELECT 1 AS value UNION ALL SELECT 2 UNION ALL SELECT 3) WHERE value >= ? ORDER BY value"
        let (pairs, again) = try await connection.submit {
            var pairs: [[Int64]] = []
            try connection.run(text, [.integer(1)]) { (outer: SQLiteRowReader) in
                let first = try outer.int64(0)
                try connection.run(text, [.integer(2)]) { (inner: SQLiteRowReader) in pairs.append([first, try inner.int64(0)]) }
            }
            var again: [Int64] = []
            try connection.run(text, [.integer(3)]) { (row: SQLiteRowReader) in again.append(try row.int64(0)) }
            return (pairs, again)
        }
        await connection.close()
        #expect(pairs == [[1, 2], [1, 3], [2, 2], [2, 3], [3, 2], [3, 3]])
        #expect(again == [3])
    }

    @Test func aClosedStoreRefusesInsteadOfHanging() async throws {
        let store = try await TemporaryDatabase.make().open()
        _ = try await store.read { try await $0.raw("SELECT 1 AS one").first() }
        await store.shutdown()
        // As any database that cannot serve: a 503 the client may retry.
        await #expect(throws: AppError.databaseUnavailable) { try await store.read { try await $0.raw("SELECT 1 AS one").first() } }
        await #expect(throws: AppError.databaseUnavailable) { try await store.write { try await $0.raw("SELECT 1 AS one").run() } }
    }
}
