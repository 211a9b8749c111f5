import Foundation
import Logging
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

/// What several nodes on one database rely on: competing workers, shared rate limits,
/// concurrent duplicates, and (on PostgreSQL) wake-ups through LISTEN/NOTIFY.
@Suite(.resources, .timeLimit(.minutes(2))) struct ScaleOutTests {
    @Test func postgresIsThereWhenCIRequiresIt() {
        if Backend.postgresRequired {
            #expect(Backend.postgresURL != nil, "EVENT_MANAGER_REQUIRE_POSTGRES=1 but EVENT_MANAGER_TEST_POSTGRES_URL is not set")
            #expect(Backend.all == [.sqlite, .postgres])
        }
    }

    @Test(arguments: Backend.all) func competingWorkersNeverSendTheSameReminderTwice(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        try await harness.eventWithSubscribers(120)
        var settings = WorkerSettings()
        settings.batchSize = 7
        let workers = (0..<4).map { harness.worker(owner: "worker-\($0)", settings: settings) }
        let claimed = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in workers {
                group.addTask {
                    var total = 0
                    while case let count = try await worker.processDueBatch(), count > 0 { total += count }
                    return total
                }
            }
            return try await group.reduce(0, +)
        }
        let ids = harness.transport.mails.map(\.messageID)
        #expect(claimed == 120)
        #expect(ids.count == 120)
        #expect(Set(ids).count == 120, "no reminder was sent twice")
        #expect(try await harness.states() == ["sent": 120])
    }

    /// A batch that outlasts its lease keeps it by renewing at each commit; a lease taken over by
    /// another worker is not renewed, so the first worker leaves that mail alone.
    @Test(arguments: Backend.all) func aSlowBatchRenewsItsLeaseAndNeverSendsWhatItLost(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 60)
        for index in 0..<40 { try await harness.subscribe(event, "user\(index)@example.com") }
        harness.advance(minutes: 30)
        var settings = WorkerSettings()
        settings.leaseMilliseconds = 10_000
        // Every message takes half a second: the batch needs 20 s, twice its lease.
        harness.transport.behaviour.withLock { [clock = harness.clock] in $0 = { _ in clock.advance(milliseconds: 500) } }
        #expect(try await harness.worker(settings: settings).processDueBatch() == 40)
        #expect(harness.transport.mails.count == 40, "the whole batch went out under renewed leases")
        #expect(try await harness.states() == ["sent": 40])

        let later = try await harness.event(startingIn: 60)
        try await harness.subscribe(later, "late@example.com")
        harness.advance(minutes: 30)
        let now = harness.clock.now()
        let mine = try await harness.queue.claim(owner: "a", limit: 10, now: now, leaseMilliseconds: 10_000)
        #expect(mine.count == 1)
        let theirs = try await harness.queue.claim(
            owner: "b", limit: 10, now: now.adding(milliseconds: 10_000), leaseMilliseconds: 10_000)
        #expect(theirs.count == 1, "an expired lease is reclaimed")
        #expect(try await harness.queue.renew([mine[0].delivery.id], owner: "a", until: now.adding(milliseconds: 30_000)).isEmpty)
        #expect(
            try await harness.queue.renew([mine[0].delivery.id], owner: "b", until: now.adding(milliseconds: 30_000)) == [
                mine[0].delivery.id
            ])
    }

    @Test(arguments: Backend.all) func concurrentDuplicateSubscriptionsMakeOne(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 600)
        let request = SubscriptionRequest(email: try EmailAddress.parse("same@example.com").get(), remindBeforeMinutes: 30)
        let created = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await harness.subscriptions.subscribe(eventID: event.id, request: request, now: harness.clock.now()).created
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(created.filter { $0 }.count == 1)
        #expect(try await harness.states() == ["scheduled": 1])
    }

    @Test(arguments: Backend.all) func concurrentMovesLeaveOneReminderAtTheFinalTime(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend, notifyChanges: false)
        let event = try await harness.event(startingIn: 600)
        for index in 0..<10 { try await harness.subscribe(event, "user\(index)@example.com") }
        let now = harness.clock.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for hours in 1...6 {
                group.addTask {
                    _ = try await harness.events.update(id: event.id, now: now) { current in
                        EventDraft(
                            title: current.title, location: current.location,
                            date: .instant(now.adding(milliseconds: Int64(hours) * 3_600_000)))
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try #require(try await harness.events.find(id: event.id))
        let rows = try await harness.store.sqlRaw(
            "SELECT event_starts_at FROM deliveries WHERE state = 'scheduled' AND kind = 'reminder'"
        ).all()
        let starts = try rows.map { try $0.decode(column: "event_starts_at", as: Int64.self) }
        #expect(starts.count == 10)
        #expect(Set(starts) == [final.startsAt.millisecondsSinceEpoch])
    }

    /// More concurrent writers than the blocking pool has threads: on SQLite they queue in the
    /// process instead of spinning on SQLite's lock (which once stalled the process for good).
    @Test(arguments: Backend.all) func manyConcurrentWritersAllFinish(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 600)
        let limiter = SQLRateLimiter(store: harness.store, scope: "subscribe", limits: [RateLimit("1000 per minute")!])
        let accounts = SQLAccountStore(store: harness.store)
        let account = try await accounts.createAccount(name: "writer", role: .organizer, now: harness.clock.now())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    switch index % 4 {
                    case 0: try await harness.subscribe(event, "user\(index)@example.com")
                    case 1: _ = try await limiter.check("client\(index % 3)", now: harness.clock.now())
                    case 2: _ = try await accounts.createKey(accountID: account.id, now: harness.clock.now())
                    default:
                        _ = try await harness.events.update(id: event.id, now: harness.clock.now()) { current in
                            EventDraft(title: "Renamed \(index)", location: current.location, date: .instant(current.startsAt))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await harness.states() == ["scheduled": 10])
        #expect(try await accounts.keys(accountID: account.id).count == 10)
    }

    /// Two limiters on one database behave as one: the budget is shared, not per node.
    @Test(arguments: Backend.all) func rateLimitsInTheDatabaseAreSharedByEveryNode(backend: Backend) async throws {
        let database = try await TemporaryDatabase.make(backend: backend)
        let nodeA = try await database.open()
        let nodeB = try await database.open()
        let limits = [RateLimit("3 per minute")!, RateLimit("5 per hour")!]
        let a = SQLRateLimiter(store: nodeA, scope: "write", limits: limits)
        let b = SQLRateLimiter(store: nodeB, scope: "write", limits: limits)
        let clock = ManualClock()
        var allowed = 0
        for index in 0..<6 where try await (index.isMultiple(of: 2) ? a : b).check("client", now: clock.now()).allowed { allowed += 1 }
        #expect(allowed == 3)
        let refused = try await b.check("client", now: clock.now())
        #expect(!refused.allowed && refused.retryAfterSeconds == 20)
        #expect(try await a.check("other", now: clock.now()).allowed, "keys are independent")
        clock.advance(milliseconds: 20_000)
        #expect(try await a.check("client", now: clock.now()).allowed)
        // Many requests at once from both nodes: exactly the budget gets through.
        clock.advance(milliseconds: 3_600_000)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask { try await (index.isMultiple(of: 2) ? a : b).check("burst", now: clock.now()).allowed }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 3)
        // A refusal is remembered until the key recovers: asked again, the node answers without
        // its database (closed here), and the answer still counts down.
        #expect(try await b.check("burst", now: clock.now()).allowed == false)
        await nodeB.shutdown()
        clock.advance(milliseconds: 5_000)
        let remembered = try await b.check("burst", now: clock.now())
        #expect(!remembered.allowed && remembered.retryAfterSeconds == 15)
        await nodeA.shutdown()
    }

    /// Busy clients cost the database a write per chunk, and two nodes together still admit no
    /// more than the limit plus one second's worth of its rate in any window (the README's bound).
    @Test(arguments: Backend.all) func sharedLimitsReserveInChunksWithinTheBound(backend: Backend) async throws {
        let database = try await TemporaryDatabase.make(backend: backend)
        let limits = [RateLimit("120 per minute")!]
        let a = SQLRateLimiter(store: try await database.open(poolSize: 2), scope: "read", limits: limits)
        let b = SQLRateLimiter(store: try await database.open(poolSize: 2), scope: "read", limits: limits)
        let clock = ManualClock()
        // A burst at one instant, spread over both nodes: never more than the limit.
        var admitted = 0
        for index in 0..<400 where try await (index.isMultiple(of: 2) ? a : b).check("hot", now: clock.now()).allowed { admitted += 1 }
        await a.ahead.finished()
        await b.ahead.finished()
        let reservations = a.reservations.value.load(ordering: .relaxed) + b.reservations.value.load(ordering: .relaxed)
        let held = a.leases.held("read|hot", now: clock.now()) + b.leases.held("read|hot", now: clock.now())
        #expect(admitted + held == 120, "every reserved token is admitted or held")
        #expect(held <= 2 * a.leases.maximumChunk(for: limits))
        #expect(reservations < 60, "\(reservations) reservations for \(admitted) admitted requests")
        // Then steady pressure for three minutes, a request to each node every 100 ms, beside one
        // in-memory limiter seeing the same requests: in no 60-second window do the two nodes admit
        // more than it does plus one second of the rate (2 per second).
        let reference = RateLimiter(limits: limits)
        let start = clock.now()
        for _ in 0..<400 { _ = reference.check("hot", now: start) }
        var nodes: [Int64] = []
        var alone: [Int64] = []
        for _ in 0..<1800 {
            clock.advance(milliseconds: 100)
            let now = clock.now()
            for node in [a, b] {
                if try await node.check("hot", now: now).allowed { nodes.append(now.millisecondsSinceEpoch) }
                await node.ahead.finished()
                if reference.check("hot", now: now).allowed { alone.append(now.millisecondsSinceEpoch) }
            }
        }
        func busiestMinute(_ times: [Int64]) -> Int {
            times.indices.map { first in times[first...].prefix { $0 - times[first] < 60_000 }.count }.max() ?? 0
        }
        #expect(busiestMinute(nodes) <= busiestMinute(alone) + 2, "\(busiestMinute(nodes)) vs \(busiestMinute(alone)) on one node")
        #expect(nodes.count >= alone.count * 9 / 10, "the budget is used, not wasted: \(nodes.count) vs \(alone.count)")
    }

    /// Many requests of one client at the same moment send one reservation at a time, not one
    /// each: the others wait for it and spend what it brought.
    @Test(arguments: Backend.all) func concurrentRequestsOfOneClientShareReservations(backend: Backend) async throws {
        let database = try await TemporaryDatabase.make(backend: backend)
        let limiter = SQLRateLimiter(store: try await database.open(poolSize: 4), scope: "read", limits: [RateLimit("100000 per minute")!])
        let clock = ManualClock()
        let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 { group.addTask { try await limiter.check("busy", now: clock.now()).allowed } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 200)
        let reservations = limiter.reservations.value.load(ordering: .relaxed)
        // Chunks double from 1 (1 + 2 + ... + 128 = 255 in eight), with reservations ahead beside them.
        #expect(reservations <= 12, "\(reservations) reservations for 200 requests")
    }

    /// A busy client's requests do not wait for the database: its next chunk is reserved in the
    /// background while half of the current one is left, so after the first few reservations
    /// every request spends a token the node already holds.
    @Test(arguments: Backend.all) func aBusyClientIsServedFromTokensReservedAhead(backend: Backend) async throws {
        let database = try await TemporaryDatabase.make(backend: backend)
        let limiter = SQLRateLimiter(store: try await database.open(poolSize: 2), scope: "read", limits: [RateLimit("100000 per minute")!])
        let clock = ManualClock()
        for _ in 0..<10 {
            #expect(try await limiter.check("busy", now: clock.now()).allowed)
            await limiter.ahead.finished()
        }
        #expect(limiter.leases.held("read|busy", now: clock.now()) > 0)
        for _ in 0..<500 {
            clock.advance(milliseconds: 1)
            #expect(try await limiter.check("busy", now: clock.now()).allowed)
            await limiter.ahead.finished()
            #expect(limiter.leases.held("read|busy", now: clock.now()) > 0, "the node never runs out: no request waits for a reservation")
        }
        let reservations = limiter.reservations.value.load(ordering: .relaxed)
        #expect(reservations < 30, "\(reservations) reservations for 510 requests, chunks of up to 256")
    }

    /// A subscription written through one node wakes the worker of another at once.
    @Test(.enabled(if: Backend.postgresURL != nil, "needs EVENT_MANAGER_TEST_POSTGRES_URL"))
    func aNotificationWakesWorkersOnOtherNodes() async throws {
        let harness = try await ReminderHarness.make(backend: .postgres)
        let event = try await harness.event(startingIn: 600)
        let workerNode = try await harness.database.open()
        let wakeup = CountingWakeup()
        let listener = Task {
            try await QueueListener(store: workerNode, logger: Logger(label: "test")) { wakeup.wakeup.signal() }.run()
        }
        #expect(await wakeup.next(), "the listener wakes the worker once it is connected")
        var settings = ReminderSettings(messageIDDomain: "test.example")
        settings.notifyWithinMilliseconds = 5000
        let apiNode = SQLSubscriptionStore(store: harness.store, settings: settings)
        let due = SubscriptionRequest(email: try EmailAddress.parse("soon@example.com").get(), remindBeforeMinutes: 600)
        _ = try await apiNode.subscribe(eventID: event.id, request: due, now: harness.clock.now())
        #expect(await wakeup.next(), "the commit of a reminder due now woke the other node")
        listener.cancel()
        await workerNode.shutdown()
    }
}

/// Wraps a `Wakeup` so a test can await each signal in turn.
final class CountingWakeup: Sendable {
    let wakeup = Wakeup()

    /// Waits for the next signal; false when none came within a minute.
    func next() async -> Bool {
        let start = ContinuousClock.now
        await wakeup.wait(timeout: .seconds(60))
        return ContinuousClock.now - start < .seconds(59)
    }
}
