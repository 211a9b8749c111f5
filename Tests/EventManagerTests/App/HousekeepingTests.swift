import Foundation
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

/// The API nodes' housekeeping: expired idempotency keys and old tombstones go, the rest stays.
@Suite(.resources) struct HousekeepingTests {
    @Test(arguments: Backend.all) func aSweepPurgesWhatOutlivedItsRetentionOnly(backend: Backend) async throws {
        let database = try await TemporaryDatabase.make(backend: backend)
        let store = try await database.open()
        let clock = ManualClock("2030-01-01T10:00:00Z")
        let events = SQLEventRepository(store: store)
        let keys = SQLIdempotencyStore(store: store)
        let draft = EventDraft(title: "Old", location: "Here", date: DateInput.parse("2030-02-01")!)
        let created = try await events.create([draft, draft], now: clock.now())
        #expect(try await events.delete(ids: [created[0].id], now: clock.now()) == [created[0].id])
        for (key, hours) in [("expires", 1), ("stays", 24 * 60)] {
            let request = IdempotentRequest(scope: "account:1", key: key, method: "POST", target: "/events", body: [])
            _ = try await keys.claim(
                request, now: clock.now(), lockMilliseconds: 1000, expiresAt: clock.now().adding(milliseconds: Int64(hours) * 3_600_000))
        }
        let housekeeping = Housekeeping(
            idempotency: keys, events: events, tombstoneRetention: .seconds(30 * 86_400), clock: clock, logger: quietLogger())

        clock.advance(milliseconds: 2 * 3_600_000)
        await housekeeping.sweep()
        #expect(try await remaining(store, "idempotency_keys") == 1)
        #expect(try await remaining(store, "event_tombstones") == 1, "a deletion of two hours ago is kept")

        clock.advance(milliseconds: 31 * 86_400_000)
        await housekeeping.sweep()
        #expect(try await remaining(store, "event_tombstones") == 0)
        // A client that last synced before the purged deletion must start over.
        await #expect(throws: AppError.self) { try await events.changes(after: 1, limit: 10) }
        #expect(try await events.changes(after: 0, limit: 10).changed.map(\.id) == [created[1].id])
    }

    func remaining(_ store: DatabaseStore, _ table: String) async throws -> Int? {
        try await store.sqlRaw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?.decode(column: "n", as: Int.self)
    }
}
