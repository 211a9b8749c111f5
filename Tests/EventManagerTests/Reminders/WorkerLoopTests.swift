import Foundation
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

@Suite(.resources) struct WakeupTests {
    /// A lost signal would sleep for the hour and trip the time limit; no wall-clock guess needed.
    @Test(.timeLimit(.minutes(1))) func aSignalBeforeTheWaitIsNotLost() async {
        let wakeup = Wakeup()
        wakeup.signal()
        await wakeup.wait(timeout: .seconds(3600))
    }

    @Test func aWaitEndsAtItsTimeout() async {
        let start = ContinuousClock.now
        await Wakeup().wait(timeout: .milliseconds(50))
        #expect(ContinuousClock.now - start >= .milliseconds(50))
    }
}

/// The worker as a running service on the real clock: it sleeps until the next due time and is
/// woken when a sooner reminder is scheduled.
@Suite(.resources, .timeLimit(.minutes(2))) struct WorkerLoopTests {
    /// The worker sleeps up to a minute; the subscription must wake it so the reminder goes out at
    /// its due time, not at the next poll. The one-second bound is asserted by
    /// `.ci/reminders_e2e.py` on an otherwise idle machine; here every other test shares the two
    /// cores, so the bound only separates "woken" from "waited for the poll".
    @Test(arguments: Backend.all) func aSubscriptionWakesTheSleepingWorkerForItsDueTime(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend, clock: ManualClock())
        let clock = SystemWallClock()
        var settings = WorkerSettings()
        settings.pollInterval = .seconds(60)
        let worker = harness.worker(settings: settings, clock: clock)
        let running = Task { try await worker.run() }

        // The worker is asleep for up to a minute; the subscription wakes it.
        let start = clock.now().adding(milliseconds: 30 * 60_000 + 1500)
        let event = try await harness.events.create([EventDraft(title: "Soon", location: "Here", date: .instant(start))], now: clock.now())[
            0]
        let request = SubscriptionRequest(email: try EmailAddress.parse("alice@example.com").get(), remindBeforeMinutes: 30)
        let view = try await harness.subscriptions.subscribe(eventID: event.id, request: request, now: clock.now()).0
        worker.wakeup.signal()

        var iterator = harness.transport.stream.makeAsyncIterator()
        let mail = await iterator.next()
        let handedOver = clock.now()
        #expect(mail?.to == "alice@example.com")
        let lateness = handedOver.millisecondsSinceEpoch - view.remindAt.millisecondsSinceEpoch
        #expect(lateness >= 0 && lateness < 10_000, "handed over \(lateness) ms after the due time")
        running.cancel()
        _ = await running.result
    }
}
