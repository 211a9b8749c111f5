import Foundation
import Synchronization
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerMail
@testable import EventManagerStorage

/// The acceptance ledger: what lets outcomes be written in batches while a crash sends at most
/// one message twice.
@Suite(.resources) struct AcceptanceLedgerTests {
    @Test func aLivingWorkersFileIsNoOrphanAndADeadOnesIs() throws {
        let directory = try temporaryDirectory()
        var living: AcceptanceLedger? = try AcceptanceLedger(directory: directory, owner: "host:1:aa")
        living?.append(id: 7, at: Timestamp(millisecondsSinceEpoch: 1000))
        #expect(AcceptanceLedger.orphans(in: directory).isEmpty, "its worker holds the lock")
        living = nil  // the process died: the kernel lets go of its lock
        let orphans = AcceptanceLedger.orphans(in: directory)
        #expect(orphans.map(\.owner) == ["host:1:aa"])
        #expect(orphans.first?.accepted.map(\.id) == [7])
        for orphan in orphans { orphan.discard() }
        #expect(AcceptanceLedger.orphans(in: directory).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func aTornLastLineCountsAsNotAccepted() {
        let parsed = AcceptanceLedger.parse(Data("owner w\n1 100\n2 200\n3 30".utf8))
        #expect(parsed?.owner == "w")
        #expect(parsed?.accepted.map(\.id) == [1, 2])
        #expect(AcceptanceLedger.parse(Data("".utf8)) == nil, "a file caught before its header is skipped")
    }

    @Test func rotatedFilesGoOnlyOnceTheirLinesAreWritten() throws {
        let directory = try temporaryDirectory()
        let ledger = try AcceptanceLedger(directory: directory, owner: "w")
        ledger.append(id: 1, at: Timestamp(millisecondsSinceEpoch: 1))
        let first = try ledger.rotate()
        ledger.append(id: 2, at: Timestamp(millisecondsSinceEpoch: 2))
        let second = try ledger.rotate()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == 3)
        ledger.retireThrough(first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == 2)
        ledger.retireThrough(second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == 1)
        ledger.removeAll()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    /// Worker A hands five messages over, loses the server on the sixth, and dies before writing
    /// any outcome. Worker B, sharing the ledger directory, records A's five as sent, puts A's
    /// other leases back at once (no waiting for the lease), and sends only those.
    @Test(arguments: Backend.all) func aWorkerTakesOverFromOneThatDiedWithoutResending(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 10)
        for index in 0..<10 { try await harness.subscribe(event, "user\(index)@example.com") }
        let directory = try temporaryDirectory()
        var settings = WorkerSettings()
        settings.connections = 1
        let handed = Counter()
        harness.transport.behaviour.withLock {
            $0 = { _ in
                if handed.increment() > 5 { throw MailError(.transient, "connection reset", serverUnavailable: true) }
            }
        }
        do {
            let ledger = try AcceptanceLedger(directory: directory, owner: "worker-a")
            let dying = ReminderWorker(
                queue: FailingOutcomes(base: harness.queue), transport: harness.transport, messages: harness.messages,
                clock: harness.clock, settings: settings, owner: "worker-a", logger: harness.quietLogger, ledger: ledger)
            await #expect(throws: FailingOutcomes.Down.self) { try await dying.processDueBatch() }
        }
        #expect(harness.transport.mails.count == 5)
        #expect(try await harness.states() == ["sending": 10], "worker A wrote nothing")

        harness.transport.behaviour.withLock { $0 = { _ in } }
        let ledger = try AcceptanceLedger(directory: directory, owner: "worker-b")
        let worker = harness.worker(owner: "worker-b", settings: settings, ledger: ledger)
        #expect(try await worker.processDueBatch() == 5, "A's unsent five are claimable at once")
        #expect(harness.transport.mails.count == 10)
        #expect(Set(harness.transport.mails.map(\.messageID)).count == 10, "nothing went out twice")
        #expect(try await harness.states() == ["sent": 10])
        #expect(AcceptanceLedger.orphans(in: directory).isEmpty)
    }

    private func temporaryDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")
        try TestResources.current().onEnd { try? FileManager.default.removeItem(at: directory) }
        return directory.path
    }
}

/// A queue whose outcome writes fail: a worker that dies before recording what it sent.
struct FailingOutcomes: DeliveryQueue {
    struct Down: Error {}
    let base: any DeliveryQueue

    func claim(owner: String, limit: Int, now: Timestamp, dueBy: Timestamp, leaseMilliseconds: Int64) async throws -> [ClaimedDelivery] {
        try await base.claim(owner: owner, limit: limit, now: now, dueBy: dueBy, leaseMilliseconds: leaseMilliseconds)
    }
    func complete(_ outcomes: [(id: Int64, outcome: DeliveryOutcome)], owner: String, now: Timestamp) async throws { throw Down() }
    func renew(_ ids: [Int64], owner: String, until: Timestamp) async throws -> Set<Int64> { throw Down() }
    func nextWakeUp() async throws -> Timestamp? { try await base.nextWakeUp() }
    func countsByState() async throws -> [DeliveryState: Int] { try await base.countsByState() }
    func purge(finishedBefore cutoff: Timestamp, limit: Int) async throws -> Int { throw Down() }
    func recordAccepted(_ accepted: [(id: Int64, at: Timestamp)], now: Timestamp) async throws { throw Down() }
    func release(owner: String, now: Timestamp) async throws { throw Down() }
}
