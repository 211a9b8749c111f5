import EventManagerCore
import Synchronization

/// Keeps recently read events in memory in front of another repository.
///
/// Single-event reads are the hottest path of the API; answering them from memory avoids a
/// thread hop to the database for each. Correct only while this process is the only writer
/// (one node on SQLite), which is where `buildApplication` uses it. Every write bumps a
/// generation counter, and a read that missed the cache stores its row only if no write happened
/// while it was reading, so a slow read can never put back a row a write has replaced.
public final class CachedEventRepository<Base: EventRepository>: EventRepository {
    private struct State {
        var events: [Int64: Event] = [:]
        var generation: UInt64 = 0
    }

    private let base: Base
    private let capacity: Int
    private let state = Mutex(State())

    public init(base: Base, capacity: Int = 100_000) {
        self.base = base
        self.capacity = capacity
        // Room for every event from the start: growing rehashes them all inside the lock (see
        // `BoundedCache`).
        state.withLock { $0.events.reserveCapacity(capacity) }
    }

    public func find(id: Int64) async throws -> Event? {
        let (cached, generation) = state.withLock { ($0.events[id], $0.generation) }
        if let cached { return cached }
        let event = try await base.find(id: id)
        if let event {
            state.withLock { state in
                guard state.generation == generation else { return }
                if state.events.count >= capacity, let victim = state.events.keys.first { state.events[victim] = nil }
                state.events[id] = event
            }
        }
        return event
    }

    public func create(_ drafts: [EventDraft], owner: Int64?, now: Timestamp) async throws -> [Event] {
        let events = try await base.create(drafts, owner: owner, now: now)
        state.withLock { $0.generation &+= 1 }
        return events
    }

    public func list(_ query: EventListQuery) async throws -> [Event] {
        try await base.list(query)
    }

    public func update(id: Int64, now: Timestamp, change: @escaping @Sendable (Event) throws -> EventDraft) async throws -> Event {
        do {
            let event = try await base.update(id: id, now: now, change: change)
            state.withLock { state in
                state.generation &+= 1
                state.events[id] = event
            }
            return event
        } catch {
            invalidate([id])
            throw error
        }
    }

    public func delete(ids: [Int64], now: Timestamp, authorize: @escaping @Sendable (Event) throws -> Void) async throws -> [Int64] {
        defer { invalidate(ids) }
        return try await base.delete(ids: ids, now: now, authorize: authorize)
    }

    /// The generation: every write bumps it after it commits.
    public var version: UInt64? { state.withLock { $0.generation } }

    public func ping() async throws {
        try await base.ping()
    }

    private func invalidate(_ ids: [Int64]) {
        state.withLock { state in
            state.generation &+= 1
            for id in ids { state.events[id] = nil }
        }
    }
}
