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
    private let base: Base
    private let state: Mutex<CachedEvents>

    /// - Parameter capacity: events kept at most; when full, each new one takes the place of
    ///   the one kept longest (`BoundedCache`).
    public init(base: Base, capacity: Int = 100_000) {
        self.base = base
        state = Mutex(CachedEvents(events: BoundedCache(capacity: capacity)))
    }

    public func find(id: Int64) async throws -> Event? {
        let (cached, generation) = state.withLock { ($0.events[id], $0.generation) }
        if let cached { return cached }
        let event = try await base.find(id: id)
        if let event {
            state.withLock { state in
                guard state.generation == generation else { return }
                state.events.insert(event, for: id)
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
                state.events.insert(event, for: id)
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
            for id in ids { state.events.remove(id) }
        }
    }
}

/// The events a `CachedEventRepository` keeps, and its count of writes.
private struct CachedEvents {
    var events: BoundedCache<Int64, Event>
    var generation: UInt64 = 0
}
