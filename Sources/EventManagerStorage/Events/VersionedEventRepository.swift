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
///
/// Pages are built from kept events too, when most of a page's events are kept (see `list`).
public final class VersionedEventRepository<Base: RevisionedEventRepository>: EventRepository {
    private let base: Base
    private let state: Mutex<KeptEvents>

    /// - Parameter capacity: events kept at most; when full, each new one takes the place of
    ///   the one kept longest (`BoundedCache`).
    public init(base: Base, capacity: Int = 100_000) {
        self.base = base
        state = Mutex(KeptEvents(kept: BoundedCache(capacity: capacity)))
    }

    public func find(id: Int64) async throws -> Event? {
        let (kept, lastSeen) = state.withLock { ($0.kept[id], $0.lastSeen) }
        guard let kept else {
            var label = lastSeen
            if label == nil { label = try await currentVersion() }  // once per node
            guard let label else { return try await base.find(id: id) }
            let event = try await base.find(id: id)
            if let event { keep(CollectionOfOne(event), at: label) }
            return event
        }
        guard let version = try await currentVersion() else { return try await base.find(id: id) }
        if kept.version == version { return kept.event }
        let event = try await base.find(id: id)
        if let event { keep(CollectionOfOne(event), at: version) }
        return event
    }

    public func currentVersion() async throws -> UInt64? {
        let version = try await base.currentVersion()
        if let version { state.withLock { $0.lastSeen = max($0.lastSeen ?? 0, version) } }
        return version
    }

    /// Keeps `events`, read after the counter stood at `version`.
    private func keep(_ events: some Sequence<Event>, at version: UInt64) {
        state.withLock { state in
            for event in events { state.kept.insert(Kept(version: version, event: event), for: event.id) }
        }
    }

    public func create(_ drafts: [EventDraft], owner: Int64?, now: Timestamp) async throws -> [Event] {
        try await base.create(drafts, owner: owner, now: now)
    }

    /// A page, built from kept events while most of the pages' events are kept.
    ///
    /// Then the page's statement reads only each row's id and revision, and the events it does
    /// not find kept with that revision are read by id. Every change to an event raises its
    /// revision, so an event kept with the revision the page's statement saw is the event as
    /// that statement saw it, and the page is the one a single statement reads; when one of the
    /// events read by id changed in between, the page is read again in one statement. On a new
    /// page of 100 the server read 1,100 cells through PostgresNIO's row iterator, a fifth of its
    /// CPU. When few events are kept (a million-row table read at random), the second round trip
    /// would cost more than it saves, so pages are read whole and the share is measured on them.
    public func list(_ query: EventListQuery) async throws -> [Event] {
        let (label, reusing) = state.withLock { ($0.lastSeen, $0.pageShare.worthReusing) }
        if reusing, let page = try await base.revisions(query), let events = try await assemble(page, label: label) {
            return events
        }
        let events = try await base.list(query)
        let keeping = state.withLock { state in
            state.pageShare.record(kept: events.count { state.kept[$0.id]?.event.revision == $0.revision }, of: events.count)
            return state.pageShare.keepsWholePage()
        }
        if let label, keeping { keep(events, at: label) }
        return events
    }

    /// The events of `page` in its order, from those kept and read by id; nil when one read by
    /// id is gone or changed since the page's statement read its revision.
    private func assemble(_ page: [EventRevision], label: UInt64?) async throws -> [Event]? {
        var events: [Event?] = []
        var missing: [Int64] = []
        state.withLock { state in
            events = page.map { row in state.kept[row.id].flatMap { $0.event.revision == row.revision ? $0.event : nil } }
            for (row, event) in zip(page, events) where event == nil { missing.append(row.id) }
            state.pageShare.record(kept: page.count - missing.count, of: page.count)
        }
        guard !missing.isEmpty else { return events.compactMap { $0 } }
        var read: [Int64: Event] = [:]
        for event in try await base.events(ids: missing) { read[event.id] = event }
        for (index, row) in page.enumerated() where events[index] == nil {
            guard let event = read[row.id], event.revision == row.revision else { return nil }
            events[index] = event
        }
        if let label { keep(read.values, at: label) }
        return events.compactMap { $0 }
    }

    public func update(id: Int64, now: Timestamp, change: @escaping @Sendable (Event) throws -> EventDraft) async throws -> Event {
        try await base.update(id: id, now: now, change: change)
    }

    public func delete(ids: [Int64], now: Timestamp, authorize: @escaping @Sendable (Event) throws -> Void) async throws -> [Int64] {
        try await base.delete(ids: ids, now: now, authorize: authorize)
    }

    public func ping() async throws { try await base.ping() }
}

/// An event kept with the counter value read before it.
///
/// Outside the generic repository, so that copying one is not generic: a page's 100 look-ups
/// copied each through value witnesses (3.6 % of the server's samples under searches). A class,
/// so a look-up copies one reference instead of retaining and releasing each of the event's
/// strings, and the cache's table holds 8 bytes per entry instead of the event's 150 (copies of
/// kept events went from 2.7 % of the server's samples under random searches of a million
/// events to none).
private final class Kept: Sendable {
    let version: UInt64
    let event: Event

    init(version: UInt64, event: Event) {
        self.version = version
        self.event = event
    }
}

/// What a `VersionedEventRepository` keeps, under its lock.
private struct KeptEvents {
    var kept: BoundedCache<Int64, Kept>
    /// The highest counter value a finished read returned.
    var lastSeen: UInt64?
    /// How many of the pages' events were kept, lately.
    var pageShare = KeptShare()
}

/// A repository that can list a page as ids and revisions, and read events by id: what
/// `VersionedEventRepository` builds pages from its kept events with.
public protocol RevisionedEventRepository: EventRepository {
    /// The ids and revisions of the events `list(query)` returns, in its order; nil when the
    /// repository cannot read them in one statement.
    func revisions(_ query: EventListQuery) async throws -> [EventRevision]?
    /// The events with these ids that exist, in any order.
    func events(ids: [Int64]) async throws -> [Event]
}

/// An event's id and revision, as a page's statement saw it.
public struct EventRevision: Sendable, Equatable {
    public let id: Int64
    public let revision: Int64

    public init(id: Int64, revision: Int64) {
        self.id = id
        self.revision = revision
    }
}

/// The share of pages' events that were kept, over the last few dozen pages: pages are built
/// from kept events only while it is high, since then nearly every page needs no second read.
struct KeptShare {
    /// A moving average in thousandths; each page moves it an eighth of the way to its own share.
    private(set) var thousandths = 0
    /// At or above this, pages are built from kept events.
    static let reuseFrom = 900

    /// Pages read whole, one in `sampling`, while few of their events are kept.
    private(set) var pagesRead = 0
    static let sampling = 8

    var worthReusing: Bool { thousandths >= Self.reuseFrom }

    /// Whether a page read whole keeps its events: always while half of the pages' events are
    /// kept, else one page in `sampling`. A table read at random (a million rows) keeps few
    /// events whatever it does, and keeping every page's cost it 3 ms at the 99th percentile of
    /// its searches; a small one still comes to keep its events, a few hundred pages later.
    mutating func keepsWholePage() -> Bool {
        pagesRead += 1
        return thousandths >= 500 || pagesRead % Self.sampling == 0
    }

    mutating func record(kept: Int, of total: Int) {
        guard total > 0 else { return }
        thousandths += (kept * 1000 / total - thousandths) / 8
    }
}
