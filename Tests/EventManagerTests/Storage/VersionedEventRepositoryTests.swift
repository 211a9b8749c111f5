import Synchronization
import Testing

@testable import EventManagerCore
@testable import EventManagerStorage

/// An in-memory database shared with other writers: a counter that every change moves, events
/// with revisions, and a count of each kind of read.
final class RevisionedFake: RevisionedEventRepository {
    struct Reads { var lists = 0, revisions = 0, byID: [[Int64]] = [] }
    let events = Mutex<[Int64: Event]>([:])
    let counter = Atomic<UInt64>(1)
    let reads = Mutex(Reads())
    /// Runs after a page's revisions are read and before anything else: another node's write.
    let betweenReads = Mutex<(@Sendable () -> Void)?>(nil)

    init(count: Int) {
        events.withLock { events in
            for id in 1...Int64(count) {
                events[id] = Event(
                    id: id, title: "Event \(id)", location: "Here", startsAt: Timestamp(millisecondsSinceEpoch: id * 60_000),
                    timeZone: .utc, isDateOnly: false, popularity: id % 7, createdAt: .minimum, updatedAt: .minimum)
            }
        }
    }

    /// Another node renames `id`: a new revision and a new counter value.
    func rename(_ id: Int64, to title: String) {
        events.withLock { events in
            events[id]?.title = title
            events[id]?.revision += 1
        }
        counter.add(1, ordering: .relaxed)
    }

    private func page(_ query: EventListQuery) -> [Event] {
        Array(events.withLock { $0.values.sorted { $0.id < $1.id } }.prefix(query.limit + 1))
    }

    func list(_ query: EventListQuery) async throws -> [Event] {
        reads.withLock { $0.lists += 1 }
        return page(query)
    }

    func revisions(_ query: EventListQuery) async throws -> [EventRevision]? {
        reads.withLock { $0.revisions += 1 }
        let page = page(query).map { EventRevision(id: $0.id, revision: $0.revision) }
        betweenReads.withLock { $0 }?()
        return page
    }

    func events(ids: [Int64]) async throws -> [Event] {
        reads.withLock { $0.byID.append(ids) }
        return events.withLock { events in ids.compactMap { events[$0] } }
    }

    func currentVersion() async throws -> UInt64? { counter.load(ordering: .relaxed) }
    func find(id: Int64) async throws -> Event? { events.withLock { $0[id] } }
    func create(_ drafts: [EventDraft], owner: Int64?, now: Timestamp) async throws -> [Event] { [] }
    func update(id: Int64, now: Timestamp, change: @escaping @Sendable (Event) throws -> EventDraft) async throws -> Event {
        throw AppError.eventNotFound(id)
    }
    func delete(ids: [Int64], now: Timestamp, authorize: @escaping @Sendable (Event) throws -> Void) async throws -> [Int64] { [] }
    func ping() async throws {}
}

@Suite struct VersionedEventRepositoryTests {
    var query: EventListQuery {
        var query = EventListQuery()
        query.limit = 5
        return query
    }

    /// A page as the controller asks for it: the counter first, then the page.
    func page(_ repository: VersionedEventRepository<RevisionedFake>) async throws -> [Event] {
        _ = try await repository.currentVersion()
        return try await repository.list(query)
    }

    /// Reads pages until they are built from kept events; fails if they never are.
    func warm(_ repository: VersionedEventRepository<RevisionedFake>, _ base: RevisionedFake) async throws {
        for _ in 0..<100 where base.reads.withLock({ $0.revisions }) == 0 {
            _ = try await page(repository)
        }
        #expect(base.reads.withLock { $0.revisions } == 1, "pages are built from kept events once most are kept")
    }

    @Test func pagesAreBuiltFromKeptEventsAndReadWholeUntilThen() async throws {
        let base = RevisionedFake(count: 20)
        let repository = VersionedEventRepository(base: base)
        try await warm(repository, base)
        let lists = base.reads.withLock { $0.lists }
        #expect(lists > 1, "whole pages until enough of their events are kept")
        let expected = try await base.list(query)
        for _ in 0..<5 { #expect(try await page(repository) == expected) }
        #expect(base.reads.withLock { $0.lists } == lists + 1, "no more whole pages (one above: the expected page)")
        #expect(base.reads.withLock { $0.byID }.isEmpty, "every event was kept")
    }

    @Test func anEventChangedSinceItWasKeptIsReadAgainById() async throws {
        let base = RevisionedFake(count: 20)
        let repository = VersionedEventRepository(base: base)
        try await warm(repository, base)
        base.rename(3, to: "Renamed")
        let events = try await page(repository)
        #expect(events.map(\.title) == ["Event 1", "Event 2", "Renamed", "Event 4", "Event 5", "Event 6"])
        #expect(base.reads.withLock { $0.byID } == [[3]], "only the changed event is read again")
        #expect(try await page(repository) == events, "and then kept with its new revision")
        #expect(base.reads.withLock { $0.byID } == [[3]])
    }

    /// The page's statement saw one revision and the read by id another: the page is read again
    /// in one statement, so it never mixes two moments of the database.
    @Test func anEventChangedBetweenThePagesTwoReadsSendsItBackToOneStatement() async throws {
        let base = RevisionedFake(count: 20)
        let repository = VersionedEventRepository(base: base)
        try await warm(repository, base)
        base.rename(4, to: "Renamed once")
        base.betweenReads.withLock { $0 = { [base] in base.rename(4, to: "Renamed twice") } }
        let lists = base.reads.withLock { $0.lists }
        let events = try await page(repository)
        #expect(events[3].title == "Renamed twice")
        #expect(events[3].revision == 2)
        #expect(base.reads.withLock { $0.lists } == lists + 1, "read again whole")
    }

    @Test func anEventGoneBetweenThePagesTwoReadsSendsItBackToOneStatement() async throws {
        let base = RevisionedFake(count: 20)
        let repository = VersionedEventRepository(base: base)
        try await warm(repository, base)
        base.rename(2, to: "Renamed")
        base.betweenReads.withLock {
            $0 = { [base] in
                _ = base.events.withLock { $0.removeValue(forKey: 2) }
                base.counter.add(1, ordering: .relaxed)
            }
        }
        let events = try await page(repository)
        #expect(events.map(\.id) == [1, 3, 4, 5, 6, 7])
    }

    /// A store smaller than a page starts over, even twice within one page, and answers stay those
    /// of the database.
    @Test func aStoreSmallerThanAPageStartsOverAndPagesStayRight() async throws {
        let base = RevisionedFake(count: 20)
        let repository = VersionedEventRepository(base: base, capacity: 2)
        let expected = try await base.list(query)
        for _ in 0..<40 { #expect(try await page(repository) == expected) }
        base.rename(1, to: "Renamed")
        #expect(try await page(repository).first?.title == "Renamed")
        _ = try await repository.currentVersion()
        #expect(try await repository.find(id: 1)?.title == "Renamed")
    }

    @Test func theKeptShareRisesWithKeptPagesAndFallsWithAPageOfNewEvents() {
        var share = KeptShare()
        #expect(!share.worthReusing)
        var pages = 0
        while !share.worthReusing && pages < 100 {
            share.record(kept: 100, of: 100)
            pages += 1
        }
        #expect((10...30).contains(pages), "a few dozen pages at most: \(pages)")
        share.record(kept: 0, of: 100)
        #expect(!share.worthReusing, "one page of events not kept is enough to read whole pages again")
        share.record(kept: 0, of: 0)
        #expect(!share.worthReusing)
        for _ in 0..<100 { share.record(kept: 80, of: 100) }
        #expect(!share.worthReusing, "four in five kept: each page would take two round trips")
    }

    @Test func pagesReadWholeKeepTheirEventsOnlyNowAndThenWhileFewAreKept() {
        var share = KeptShare()
        let kept = (0..<(8 * KeptShare.sampling)).filter { _ in share.keepsWholePage() }.count
        #expect(kept == 8, "one page in \(KeptShare.sampling)")
        for _ in 0..<40 { share.record(kept: 60, of: 100) }
        #expect((0..<KeptShare.sampling).allSatisfy { _ in share.keepsWholePage() }, "every page once half are kept")
    }
}
