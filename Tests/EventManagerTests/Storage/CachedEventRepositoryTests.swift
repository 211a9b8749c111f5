import Synchronization
import Testing

@testable import EventManagerCore
@testable import EventManagerStorage

/// An in-memory repository that counts reads and can hold a read until the test releases it.
final class CountingRepository: EventRepository {
    let events = Mutex<[Int64: Event]>([:])
    let reads = Atomic<Int>(0)
    let readGate = Mutex<CheckedContinuation<Void, Never>?>(nil)
    let readStarted = Mutex<CheckedContinuation<Void, Never>?>(nil)
    let holdNextRead = Atomic<Bool>(false)

    func create(_ drafts: [EventDraft], owner: Int64?, now: Timestamp) async throws -> [Event] {
        events.withLock { events in
            drafts.map { draft in
                let event = Event(draft: draft, id: Int64(events.count + 1), createdAt: now, updatedAt: now)
                events[event.id] = event
                return event
            }
        }
    }

    func find(id: Int64) async throws -> Event? {
        reads.add(1, ordering: .relaxed)
        let snapshot = events.withLock { $0[id] }
        if holdNextRead.exchange(false, ordering: .relaxed) {
            await withCheckedContinuation { continuation in
                readGate.withLock { $0 = continuation }
                readStarted.withLock {
                    $0?.resume()
                    $0 = nil
                }
            }
        }
        return snapshot
    }

    func list(_ query: EventListQuery) async throws -> [Event] { [] }

    func update(id: Int64, now: Timestamp, change: @escaping @Sendable (Event) throws -> EventDraft) async throws -> Event {
        try events.withLock { events in
            guard let existing = events[id] else { throw AppError.eventNotFound(id) }
            let updated = Event(draft: try change(existing), id: id, createdAt: existing.createdAt, updatedAt: now)
            events[id] = updated
            return updated
        }
    }

    func delete(ids: [Int64], now: Timestamp, authorize: @escaping @Sendable (Event) throws -> Void) async throws -> [Int64] {
        events.withLock { events in ids.filter { events.removeValue(forKey: $0) != nil } }
    }

    func ping() async throws {}
}

@Suite(.resources) struct CachedEventRepositoryTests {
    let draft = EventDraft(title: "a", location: "b", date: DateInput.parse("2030-01-01")!)

    @Test func secondReadIsServedFromMemoryAndWritesAreSeen() async throws {
        let base = CountingRepository()
        let cache = CachedEventRepository(base: base)
        let event = try await cache.create([draft], now: .minimum)[0]
        _ = try await cache.find(id: event.id)
        _ = try await cache.find(id: event.id)
        #expect(base.reads.load(ordering: .relaxed) == 1)

        var renamed = draft
        renamed.title = "renamed"
        _ = try await cache.update(id: event.id, now: .minimum) { [renamed] _ in renamed }
        #expect(try await cache.find(id: event.id)?.title == "renamed")
        _ = try await cache.delete(ids: [event.id], now: .minimum)
        #expect(try await cache.find(id: event.id) == nil)
    }

    @Test func aReadThatRacesAWriteDoesNotCacheTheOldRow() async throws {
        let base = CountingRepository()
        let cache = CachedEventRepository(base: base)
        let event = try await cache.create([draft], now: .minimum)[0]
        base.holdNextRead.store(true, ordering: .relaxed)
        async let slowRead = cache.find(id: event.id)
        await withCheckedContinuation { continuation in
            base.readStarted.withLock { $0 = continuation }
            // The read may already be parked; then wake ourselves.
            if base.readGate.withLock({ $0 != nil }) {
                base.readStarted.withLock {
                    $0?.resume()
                    $0 = nil
                }
            }
        }
        var renamed = draft
        renamed.title = "new"
        _ = try await base.update(id: event.id, now: .minimum) { [renamed] _ in renamed }
        _ = try await cache.update(id: event.id, now: .minimum) { [renamed] _ in renamed }
        base.readGate.withLock {
            $0?.resume()
            $0 = nil
        }
        #expect(try await slowRead?.title == "a")
        #expect(try await cache.find(id: event.id)?.title == "new")
    }
}
