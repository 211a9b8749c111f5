import EventManagerCore
import Synchronization

/// Keeps events read from a database other nodes write too, reused while its change counter
/// stays the same.
///
/// Every write to the events takes the counter's next value in its own transaction (see
/// `ChangeCounter`), so an event read after the counter stood at some value is still the event
/// while the counter stands there. A read of a kept event asks the counter first (shared between
/// concurrent requests, see `SharedReads`) and reads the event again only when the counter moved:
/// a write through any node shows in the next request that reaches this one. An event not kept
/// is read at once, in one round trip, and kept under the last counter value this node saw,
/// which was read before the event was.
public final class VersionedEventRepository<Base: EventRepository>: EventRepository {
    private struct Kept {
        let version: UInt64
        let event: Event
    }

    private struct State {
        var kept: [Int64: Kept] = [:]
        /// The highest counter value a finished read returned.
        var lastSeen: UInt64?
    }

    private let base: Base
    private let capacity: Int
    private let state = Mutex(State())

    public init(base: Base, capacity: Int = 100_000) {
        self.base = base
        self.capacity = capacity
    }

    public func find(id: Int64) async throws -> Event? {
        let (kept, lastSeen) = state.withLock { ($0.kept[id], $0.lastSeen) }
        guard let kept else {
            var label = lastSeen
            if label == nil { label = try await currentVersion() }  // once per node
            guard let label else { return try await base.find(id: id) }
            let event = try await base.find(id: id)
            if let event { keep(event, at: label) }
            return event
        }
        guard let version = try await currentVersion() else { return try await base.find(id: id) }
        if kept.version == version { return kept.event }
        let event = try await base.find(id: id)
        if let event { keep(event, at: version) }
        return event
    }

    public func currentVersion() async throws -> UInt64? {
        let version = try await base.currentVersion()
        if let version { state.withLock { $0.lastSeen = max($0.lastSeen ?? 0, version) } }
        return version
    }

    /// Keeps `event`, read after the counter stood at `version`.
    private func keep(_ event: Event, at version: UInt64) {
        state.withLock { state in
            if state.kept.count >= capacity { state.kept.removeAll(keepingCapacity: true) }
            state.kept[event.id] = Kept(version: version, event: event)
        }
    }

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
