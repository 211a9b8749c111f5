import Foundation
import Logging
import SQLKit
import Testing

@testable import EventManagerCore
@testable import EventManagerStorage

@Suite(.resources, .timeLimit(.minutes(2))) struct DurabilityTests {
    @Test func dataSurvivesARestartOnTheSameFile() async throws {
        let database = try await TemporaryDatabase.make()
        let first = try await database.open()
        let created = try await SQLEventRepository(store: first).create(
            [EventDraft(title: "Kept", location: "Disk", date: DateInput.parse("2030-01-01")!)], now: Timestamp(millisecondsSinceEpoch: 5)
        )
        await first.shutdown()

        let second = try await database.open()
        let found = try await SQLEventRepository(store: second).find(id: created[0].id)
        await second.shutdown()
        #expect(found == created[0])
    }

    @Test func sqliteRunsInWALWithFullSyncAndForeignKeys() async throws {
        let database = try await TemporaryDatabase.make()
        let store = try await database.open()
        let mode = try await store.sqlRaw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self)
        let sync = try await store.sqlRaw("PRAGMA synchronous").first()?.decode(column: "synchronous", as: Int.self)
        let keys = try await store.sqlRaw("PRAGMA foreign_keys").first()?.decode(column: "foreign_keys", as: Int.self)
        let indexes = try await store.sqlRaw("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").all()
            .map { try $0.decode(column: "name", as: String.self) }
        // The writing connection checkpoints less often than SQLite's default.
        let checkpoint = try await store.write { sql in
            try await sql.raw("PRAGMA wal_autocheckpoint").first()?.decode(column: "wal_autocheckpoint", as: Int.self)
        }
        await store.shutdown()
        #expect(checkpoint == SQLiteThread.writerCheckpointPages)
        #expect(mode == "wal")
        #expect(sync == 2)
        #expect(keys == 1)
        #expect(Set(indexes).isSuperset(of: ["events_title_idx", "events_location_idx", "events_starts_at_idx", "events_popularity_idx"]))
    }

    @Test(arguments: Backend.all) func migrationsRevertAndReapply(backend: Backend) async throws {
        let database = try await TemporaryDatabase.make(backend: backend)
        let store = try await database.open()
        try await store.revertLastBatch()
        await #expect(throws: (any Error).self, "every table is gone") {
            try await store.sqlRaw("SELECT COUNT(*) AS n FROM events").run()
        }
        await #expect(throws: (any Error).self) { try await store.sqlRaw("SELECT COUNT(*) AS n FROM rate_limits").run() }
        try await store.migrate()
        let again = try await store.sqlRaw("SELECT COUNT(*) AS n FROM events").first()?.decode(column: "n", as: Int.self)
        await store.shutdown()
        #expect(again == 0)
    }
}
