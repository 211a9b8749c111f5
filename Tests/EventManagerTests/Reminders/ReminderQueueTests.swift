import Foundation
import SQLKit
import ServiceLifecycleTestKit
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerMail
@testable import EventManagerStorage

@Suite(.resources) struct ReminderQueueTests {
    @Test(arguments: Backend.all) func reminderGoesOutAtItsDueTimeAndNotBefore(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 120)
        let view = try await harness.subscribe(event)
        #expect(view.remindAt == event.startsAt.adding(milliseconds: -30 * 60_000))
        #expect(view.reminderState == .scheduled)
        let worker = harness.worker()

        #expect(try await worker.processDueBatch() == 0)
        #expect(try await harness.queue.nextWakeUp() == view.remindAt)
        harness.advance(minutes: 89)
        #expect(try await worker.processDueBatch() == 0)
        harness.advance(minutes: 1)
        #expect(try await worker.processDueBatch() == 1)
        #expect(harness.subjects() == ["Reminder: Meetup starts in 30 minutes"])
        #expect(try await worker.processDueBatch() == 0)
        #expect(try await harness.states() == ["sent": 1])
    }

    @Test(arguments: Backend.all) func subscribingTwiceSchedulesOneReminder(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 120)
        let first = try await harness.subscriptions.subscribe(
            eventID: event.id,
            request: SubscriptionRequest(email: try EmailAddress.parse("Bob@Example.com").get(), remindBeforeMinutes: 30),
            now: harness.clock.now()
        )
        let second = try await harness.subscriptions.subscribe(
            eventID: event.id,
            request: SubscriptionRequest(email: try EmailAddress.parse("bob@example.com").get(), remindBeforeMinutes: 10),
            now: harness.clock.now()
        )
        #expect(first.created && !second.created)
        #expect(second.0.subscription.id == first.0.subscription.id)
        #expect(try await harness.states() == ["scheduled": 1])
    }

    @Test(arguments: Backend.all) func aLateSubscriptionIsRemindedAtOnceWithTheRealTimeLeft(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 10)
        try await harness.subscribe(event, minutes: 30)
        #expect(try await harness.worker().processDueBatch() == 1)
        #expect(harness.subjects() == ["Reminder: Meetup starts in 10 minutes"])
    }

    @Test(arguments: Backend.all) func startedEventsTakeNoSubscriptions(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 1)
        harness.advance(minutes: 1)
        await #expect { try await harness.subscribe(event) } throws: { ($0 as? AppError)?.code == "event_started" }
    }

    @Test(arguments: Backend.all) func movingTheEventMovesTheReminderAndNotifiesSubscribers(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 120)
        try await harness.subscribe(event)
        let later = event.startsAt.adding(milliseconds: 24 * 3_600_000)
        _ = try await harness.events.update(id: event.id, now: harness.clock.now()) { old in
            EventDraft(title: old.title, location: old.location, date: .instant(later))
        }
        #expect(try await harness.states() == ["cancelled": 1, "scheduled": 2])
        let worker = harness.worker()
        #expect(try await worker.processDueBatch() == 1)
        #expect(harness.subjects() == ["Changed: Meetup"])
        let notice = try await harness.store.sqlRaw("SELECT notice FROM deliveries WHERE kind = 'change'").first()?
            .decode(column: "notice", as: String.self)
        #expect(notice?.contains("\"revision\":1") == true, "the calendar SEQUENCE grows with the change")
        // The old reminder time passes silently; the new one fires.
        harness.advance(minutes: 90)
        #expect(try await worker.processDueBatch() == 0)
        #expect(try await harness.queue.nextWakeUp() == later.adding(milliseconds: -30 * 60_000))
        harness.advance(minutes: 24 * 60)
        #expect(try await worker.processDueBatch() == 1)
        #expect(harness.subjects().last == "Reminder: Meetup starts in 30 minutes")
    }

    @Test(arguments: Backend.all) func subscribersAlreadyRemindedGetANewReminderForTheNewTime(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend, notifyChanges: false)
        let event = try await harness.event(startingIn: 60)
        try await harness.subscribe(event)
        let worker = harness.worker()
        harness.advance(minutes: 30)
        #expect(try await worker.processDueBatch() == 1)
        let later = event.startsAt.adding(milliseconds: 60 * 60_000)
        _ = try await harness.events.update(id: event.id, now: harness.clock.now()) { old in
            EventDraft(title: old.title, location: old.location, date: .instant(later))
        }
        harness.advance(minutes: 60)
        #expect(try await worker.processDueBatch() == 1)
        #expect(harness.subjects() == ["Reminder: Meetup starts in 30 minutes", "Reminder: Meetup starts in 30 minutes"])
    }

    @Test(arguments: Backend.all) func changingOnlyTheTitleChangesNothingInTheQueue(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 120)
        try await harness.subscribe(event)
        _ = try await harness.events.update(id: event.id, now: harness.clock.now()) { old in
            EventDraft(title: "Renamed", location: old.location, date: .instant(old.startsAt))
        }
        #expect(try await harness.states() == ["scheduled": 1])
        harness.advance(minutes: 90)
        #expect(try await harness.worker().processDueBatch() == 1)
        #expect(harness.subjects() == ["Reminder: Renamed starts in 30 minutes"])
    }

    @Test(arguments: Backend.all) func deletingTheEventCancelsRemindersAndSendsACancellation(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 120)
        try await harness.subscribe(event)
        _ = try await harness.events.delete(ids: [event.id], now: harness.clock.now())
        #expect(try await harness.worker().processDueBatch() == 1)
        #expect(harness.subjects() == ["Cancelled: Meetup"])
        let text = String(decoding: harness.transport.mails[0].data, as: UTF8.self)
        #expect(!text.contains("List-Unsubscribe"))
        #expect(try await harness.states() == ["cancelled": 1, "sent": 1])
    }

    @Test(arguments: Backend.all) func unsubscribingCancelsPendingMail(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 120)
        let view = try await harness.subscribe(event)
        #expect(try await harness.subscriptions.unsubscribe(token: view.subscription.token, now: harness.clock.now()))
        #expect(try await harness.subscriptions.unsubscribe(token: "unknown", now: harness.clock.now()) == false)
        harness.advance(minutes: 90)
        #expect(try await harness.worker().processDueBatch() == 0)
        #expect(try await harness.states() == ["cancelled": 1])
    }

    @Test(arguments: Backend.all) func aReminderThatWouldArriveAfterTheStartIsSkipped(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 60)
        try await harness.subscribe(event)
        harness.advance(minutes: 61)
        #expect(try await harness.worker().processDueBatch() == 1)
        #expect(harness.transport.mails.isEmpty)
        #expect(try await harness.states() == ["skipped": 1])
    }

    @Test(arguments: Backend.all) func transientFailuresAreRetriedWithBackoff(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 600)
        try await harness.subscribe(event, minutes: 600)
        let failures = Counter()
        harness.transport.behaviour.withLock {
            $0 = { _ in
                if failures.increment() <= 2 { throw MailError(.transient, "451 try later") }
            }
        }
        let worker = harness.worker()
        #expect(try await worker.processDueBatch() == 1)
        let start = harness.clock.now()
        #expect(try await harness.queue.nextWakeUp() == start.adding(milliseconds: 15_000))
        harness.clock.advance(milliseconds: 15_000)
        #expect(try await worker.processDueBatch() == 1)
        #expect(try await harness.queue.nextWakeUp() == start.adding(milliseconds: 45_000))
        // Claimed one lookahead before it is due, handed over at the due time, not before.
        harness.clock.advance(milliseconds: 30_000 - WorkerSettings().lookaheadMilliseconds - 1)
        #expect(try await worker.processDueBatch() == 0)
        harness.clock.advance(milliseconds: 1)
        #expect(try await worker.processDueBatch() == 1)
        #expect(harness.transport.mails.count == 1)
        #expect(harness.clock.now() == start.adding(milliseconds: 45_000), "the worker waited for the due time")
        let attempts = try await harness.store.sqlRaw("SELECT attempts FROM deliveries").first()?.decode(
            column: "attempts", as: Int.self)
        #expect(attempts == 3)
    }

    /// An unreachable server is an outage, not the message's fault: the message goes back to the
    /// queue without spending an attempt, and the worker waits 1 s, 2 s, 4 s ... before trying again.
    @Test(arguments: Backend.all) func anUnreachableServerDefersWithoutSpendingAttempts(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 6000)
        try await harness.subscribe(event, minutes: 6000)
        harness.transport.sessionDown.store(true, ordering: .relaxed)
        var settings = WorkerSettings()
        settings.retry = RetryPolicy(maxAttempts: 2, baseDelayMilliseconds: 1000, maxDelayMilliseconds: 1000)
        let worker = harness.worker(settings: settings)
        var waits: [Int64] = []
        for _ in 0..<4 {
            let before = harness.clock.now()
            #expect(try await worker.processDueBatch() == 1)
            let next = try #require(try await harness.queue.nextWakeUp())
            waits.append(next.millisecondsSinceEpoch - before.millisecondsSinceEpoch)
            #expect(worker.backoff.withLock { $0.remaining(at: before) } == waits.last)
            try await harness.clock.sleep(until: next)
        }
        #expect(waits == [1000, 2000, 4000, 8000])
        #expect(try await harness.states() == ["scheduled": 1])
        let attempts = try await harness.store.sqlRaw("SELECT attempts FROM deliveries").first()?.decode(column: "attempts", as: Int.self)
        #expect(attempts == 0, "four outages spent none of the two attempts")
        harness.transport.sessionDown.store(false, ordering: .relaxed)
        #expect(try await worker.processDueBatch() == 1)
        #expect(try await harness.states() == ["sent": 1])
        #expect(worker.backoff.withLock { $0.consecutiveFailures } == 0)
    }

    @Test(arguments: Backend.all) func givesUpAfterMaxAttempts(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 6000)
        try await harness.subscribe(event, minutes: 6000)
        harness.transport.behaviour.withLock { $0 = { _ in throw MailError(.transient, "451 try later") } }
        var settings = WorkerSettings()
        settings.retry = RetryPolicy(maxAttempts: 3, baseDelayMilliseconds: 1000, maxDelayMilliseconds: 1000)
        let worker = harness.worker(settings: settings)
        for _ in 0..<3 {
            #expect(try await worker.processDueBatch() == 1)
            harness.clock.advance(milliseconds: 1000)
        }
        #expect(try await worker.processDueBatch() == 0)
        #expect(try await harness.states() == ["failed": 1])
    }

    @Test(arguments: Backend.all) func aPermanentRefusalFailsAtOnce(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 10)
        try await harness.subscribe(event)
        harness.transport.behaviour.withLock { $0 = { _ in throw MailError(.permanent, "550 no such user") } }
        #expect(try await harness.worker().processDueBatch() == 1)
        #expect(try await harness.states() == ["failed": 1])
        let error = try await harness.store.sqlRaw("SELECT last_error FROM deliveries").first()?.decode(
            column: "last_error", as: String.self)
        #expect(error?.contains("550") == true)
    }

    @Test(arguments: Backend.all) func aCrashedWorkersLeaseExpiresAndAnotherWorkerDelivers(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let event = try await harness.event(startingIn: 10)
        try await harness.subscribe(event)
        // Worker A claims and dies before recording anything.
        let claimed = try await harness.queue.claim(owner: "worker-a", limit: 10, now: harness.clock.now(), leaseMilliseconds: 60_000)
        #expect(claimed.count == 1)
        let workerB = harness.worker(owner: "worker-b")
        #expect(try await workerB.processDueBatch() == 0)
        harness.clock.advance(milliseconds: 60_000)
        #expect(try await workerB.processDueBatch() == 1)
        #expect(harness.transport.mails.count == 1)
        // A's late report must not overwrite B's.
        try await harness.queue.complete(
            [(claimed[0].delivery.id, .failed(error: "late"))], owner: "worker-a", now: harness.clock.now())
        #expect(try await harness.states() == ["sent": 1])
        // The Message-ID is the one the delivery was created with, on every attempt.
        #expect(harness.transport.mails[0].messageID == claimed[0].delivery.messageID)
    }

    @Test(arguments: Backend.all) func oneSessionCarriesAWholeBatch(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        try await harness.eventWithSubscribers(25)
        var settings = WorkerSettings()
        settings.connections = 1
        #expect(try await harness.worker(settings: settings).processDueBatch() == 25)
        #expect(harness.transport.sessions.load(ordering: .relaxed) == 1)
        #expect(harness.transport.mails.count == 25)
    }

    /// While one batch goes out the next is already claimed: every batch is sent once, and no
    /// delivery is claimed twice.
    @Test(arguments: Backend.all) func drainingClaimsTheNextBatchWhileSending(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        try await harness.eventWithSubscribers(25)
        var settings = WorkerSettings()
        settings.batchSize = 10
        try await harness.worker(settings: settings).drainDueBatches()
        #expect(harness.transport.mails.count == 25)
        #expect(Set(harness.transport.mails.map(\.to)).count == 25)
        #expect(try await harness.states() == ["sent": 25])
        let attempts = try await harness.store.sqlRaw("SELECT MAX(attempts) AS n FROM deliveries").first()?.decode(
            column: "n", as: Int.self)
        #expect(attempts == 1, "no delivery was claimed twice")
    }

    /// A worker told to stop while the next batch is already claimed puts that batch back at
    /// once, without spending an attempt: another worker takes it without waiting for the lease.
    @Test(arguments: Backend.all) func stoppingGivesThePrefetchedBatchBack(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        try await harness.eventWithSubscribers(6)
        var settings = WorkerSettings()
        settings.batchSize = 2
        try await testGracefulShutdown { trigger in
            harness.transport.behaviour.withLock { $0 = { _ in trigger.triggerGracefulShutdown() } }
            try await harness.worker(settings: settings).drainDueBatches()
        }
        #expect(harness.transport.mails.count == 2)
        #expect(try await harness.states() == ["sent": 2, "scheduled": 4])
        let waiting = try await harness.store.sqlRaw(
            "SELECT MAX(attempts) AS attempts, COUNT(lease_owner) AS leased FROM deliveries WHERE state = 'scheduled'"
        ).first()
        #expect(try waiting?.decode(column: "attempts", as: Int.self) == 0, "giving back spends no attempt")
        #expect(try waiting?.decode(column: "leased", as: Int.self) == 0, "nothing stays leased")
    }

    @Test(arguments: Backend.all) func aBatchIsSharedByItsConnections(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        try await harness.eventWithSubscribers(25)
        var settings = WorkerSettings()
        settings.connections = 3
        #expect(try await harness.worker(settings: settings).processDueBatch() == 25)
        // Sessions open as connections take their first message; never more than configured.
        #expect((1...3).contains(harness.transport.sessions.load(ordering: .relaxed)))
        #expect(harness.transport.mails.count == 25)
        #expect(Set(harness.transport.mails.map(\.to)).count == 25, "each message went out once")
        #expect(try await harness.states() == ["sent": 25])
    }
}

/// History stays bounded: finished deliveries past `reminders.retention_days` are deleted in
/// small batches, waiting and recent ones stay, and the queue depth counts only what waits.
@Suite(.resources) struct RetentionTests {
    @Test(arguments: Backend.all) func finishedDeliveriesPastTheirRetentionAreDeleted(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let soon = try await harness.event(startingIn: 10)
        let later = try await harness.event(startingIn: 100 * 24 * 60)
        for index in 0..<5 { try await harness.subscribe(soon, "old\(index)@example.com") }
        try await harness.subscribe(later, "waiting@example.com")
        var settings = WorkerSettings()
        settings.retention = .seconds(30 * 86_400)
        settings.purgeBatch = 2
        let worker = harness.worker(settings: settings)
        #expect(try await worker.processDueBatch() == 5)
        #expect(try await harness.states() == ["sent": 5, "scheduled": 1])
        harness.advance(minutes: 29 * 24 * 60)
        #expect(try await worker.purgeHistory() == 0, "not yet past the retention")
        harness.advance(minutes: 2 * 24 * 60)
        #expect(try await worker.purgeHistory() == 5, "deleted two at a time until none was left")
        #expect(try await harness.states() == ["scheduled": 1])
        #expect(try await harness.queue.countsByState() == [.scheduled: 1, .sending: 0])
    }
}
