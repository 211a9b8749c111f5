import EventManagerCore
import Synchronization

/// Keeps events read from a database other nodes write too, reused while its change counter
/// stays the same.
///
/// Every write to the events takes the counter's next value in its own transaction (see
/// `ChangeCounter`), so an event read after the counter stood at some value is still the event
/// while the counter stands there. A read asks the counter first (shared between concurrent
/// requests, see `SharedReads`) and reads the event only when the counter moved since it was
/// kept: a write through any node shows in the next request that reaches this one.
public final class VersionedEventRepository<Base: EventRepository>: EventRepository {
    private struct Kept {
        let version: UInt64
        let event: Event
    }

    private let base: Base
    private let capacity: Int
    private let kept = Mutex<[Int64: Kept]>([:])

    public init(base: Base, capacity: Int = 100_000) {
        self.base = base
        self.capacity = capacity
    }

    public func find(id: Int64) async throws -> Event? {
        guard let version = try await base.currentVersion() else { return try await base.find(id: id) }
        if let kept = kept.withLock({ $0[id] }), kept.version == version { return kept.event }
        guard let event = try await base.find(id: id) else { return nil }
        kept.withLock { kept in
            if kept.count >= capacity { kept.removeAll(keepingCapacity: true) }
            kept[id] = Kept(version: version, event: event)
        }
        return event
    }

    public func currentVersion() async throws -> UInt64? { try await base.currentVersion() }

    public func create(_ drafts: [EventDraft], owner: Int64?, now: Timestamp) async throws -> [Event] {
        try await base.create(drafts, owner: owner, now: now)
    }

    public func list(_ query: EventListQuery) async throws -> [Event] { try await base.list(query) }

    public func update(id: Int64, now: Timestamp, change: @escaping @Sendable (Event) throws -> EventDraft) async throws -> Event {
        try await base.update(id: id, now: now, change: change)
    }

    public func delete(ids: [Int64], now: Timestamp, authorize: @escaping @Sendable (Event) throws -> Void) async throws -> [Int64] {
        try await base.delete(ids: ids, now: now, authorize: authorize)
    }

    public func ping() async throws { try await base.ping() }
}
