import Foundation
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerHTTP
@testable import EventManagerMail
@testable import EventManagerMetrics
@testable import EventManagerStorage

/// `subscriptions.confirm`: the subscriber is reminded only after following the link.
@Suite struct DoubleOptInTests {
    @Test(arguments: Backend.all) func remindersWaitForTheConfirmationLink(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend, confirm: true)
        let event = try await harness.event(startingIn: 120)
        let view = try await harness.subscribe(event)
        #expect(view.subscription.status == .pending)
        #expect(view.reminderState == nil)
        let worker = harness.worker()
        #expect(try await worker.processDueBatch() == 1)
        #expect(harness.subjects() == ["Please confirm: reminders for Meetup"])
        let text = String(decoding: harness.transport.mails[0].data, as: UTF8.self)
        #expect(text.contains("List-Unsubscribe"))

        // Subscribing again while pending sends no second confirmation.
        try await harness.subscribe(event)
        #expect(try await worker.processDueBatch() == 0)

        // Without confirmation the reminder time passes silently.
        harness.advance(minutes: 90)
        #expect(try await worker.processDueBatch() == 0)
        #expect(try await harness.subscriptions.confirm(token: view.subscription.token, now: harness.clock.now()))
        #expect(try await harness.subscriptions.confirm(token: "unknown", now: harness.clock.now()) == false)
        #expect(try await worker.processDueBatch() == 1)
        #expect(harness.subjects().last == "Reminder: Meetup starts in 30 minutes")
        await harness.close()
    }

    @Test(arguments: Backend.all) func unsubscribingBeforeConfirmingCancelsTheConfirmation(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend, confirm: true)
        let event = try await harness.event(startingIn: 120)
        let view = try await harness.subscribe(event)
        #expect(try await harness.subscriptions.unsubscribe(token: view.subscription.token, now: harness.clock.now()))
        #expect(try await harness.worker().processDueBatch() == 0)
        #expect(try await harness.states() == ["cancelled": 1])
        await harness.close()
    }

    @Test(arguments: Backend.all) func theConfirmPageNeverConfirmsByItself(backend: Backend) async throws {
        try await withTestApp(backend: backend, clock: ManualClock("2030-01-01T10:00:00Z")) { client, store in
            try await client.createEvent(date: "2030-06-01")
            try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#)
            let token = try await store.sql().raw("SELECT token FROM subscriptions").first()?.decode(column: "token", as: String.self) ?? ""
            let page = try await client.send(.get, "/confirm?token=\(token)")
            #expect(page.status == .ok)
            #expect(String(buffer: page.body).contains("method=\"post\""))
            let confirmed = try await client.send(.post, "/confirm?token=\(token)")
            #expect(confirmed.status == .ok)
            #expect(try await client.send(.post, "/confirm?token=unknown").status == .notFound)
            #expect(try await client.send(.get, "/confirm").status == .badRequest)
        }
    }
}
