import Foundation
import HummingbirdTesting
import NIOCore
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

/// `subscriptions.confirm`: the subscriber is reminded only after following the link.
@Suite(.resources) struct DoubleOptInTests {
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
        let confirmed = try await harness.subscriptions.confirm(token: view.subscription.token, now: harness.clock.now())
        guard case .confirmed? = confirmed else {
            Issue.record("not confirmed: \(String(describing: confirmed))")
            return
        }
        #expect(try await harness.subscriptions.confirm(token: view.subscription.token, now: harness.clock.now()) == .alreadyConfirmed)
        #expect(try await harness.subscriptions.confirm(token: "unknown", now: harness.clock.now()) == nil)
        #expect(try await worker.processDueBatch() == 1)
        #expect(harness.subjects().last == "Reminder: Meetup starts in 30 minutes")
    }

    @Test(arguments: Backend.all) func unsubscribingBeforeConfirmingCancelsTheConfirmation(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend, confirm: true)
        let event = try await harness.event(startingIn: 120)
        let view = try await harness.subscribe(event)
        #expect(try await harness.subscriptions.unsubscribe(token: view.subscription.token, now: harness.clock.now()))
        #expect(try await harness.worker().processDueBatch() == 0)
        #expect(try await harness.states() == ["cancelled": 1])
    }

    /// Consent withdrawn is never turned back on: the old confirmation link answers "unsubscribed"
    /// and schedules nothing, whether the subscriber left by the API or by the one-click link.
    @Test(arguments: Backend.all) func aConfirmationLinkCannotUndoAnUnsubscribe(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend, confirm: true)
        let event = try await harness.event(startingIn: 120)
        let view = try await harness.subscribe(event)
        #expect(try await harness.subscriptions.unsubscribe(token: view.subscription.token, now: harness.clock.now()))
        #expect(try await harness.subscriptions.confirm(token: view.subscription.token, now: harness.clock.now()) == .unsubscribed)
        let listed = try await harness.subscriptions.subscriptions(eventID: event.id)
        #expect(listed.map(\.subscription.status) == [.unsubscribed])
        harness.advance(minutes: 100)
        #expect(try await harness.worker().processDueBatch() == 0)
        #expect(harness.transport.mails.isEmpty)
    }

    @Test(arguments: Backend.all) func aConfirmationAfterTheStartSchedulesNothing(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend, confirm: true)
        let event = try await harness.event(startingIn: 20)
        let view = try await harness.subscribe(event)
        harness.advance(minutes: 21)
        #expect(try await harness.subscriptions.confirm(token: view.subscription.token, now: harness.clock.now()) == .eventOver)
        let reminders = try await harness.store.sqlRaw("SELECT COUNT(*) AS n FROM deliveries WHERE kind = 'reminder'").first()?.decode(
            column: "n", as: Int.self)
        #expect(reminders == 0)
    }

    @Test(arguments: Backend.all) func theConfirmPageNeverConfirmsByItself(backend: Backend) async throws {
        let configure: (inout AppConfiguration) -> Void = { $0.reminders.confirmSubscriptions = true }
        try await withTestApp(backend: backend, clock: ManualClock("2030-01-01T10:00:00Z"), configure: configure) { client, store in
            try await client.createEvent(date: "2030-06-01")
            try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#)
            let token = try await store.sqlRaw("SELECT token FROM subscriptions").first()?.decode(column: "token", as: String.self) ?? ""
            let page = try await client.send(.get, "/confirm?token=\(token)")
            #expect(page.status == .ok)
            #expect(String(buffer: page.body).contains("method=\"post\""))
            let confirmed = try await client.send(.post, "/confirm?token=\(token)")
            #expect(confirmed.status == .ok)
            #expect(String(buffer: confirmed.body).contains("Confirmed"))
            let again = try await client.send(.post, "/confirm?token=\(token)")
            #expect(String(buffer: again.body).contains("Already confirmed"))
            #expect(try await client.send(.post, "/confirm?token=unknown").status == .notFound)
            #expect(try await client.send(.get, "/confirm").status == .badRequest)
        }
    }

    /// Over HTTP: the one-click unsubscribe of a pending subscription, then its confirmation link.
    @Test(arguments: Backend.all) func theConfirmRouteRefusesAnUnsubscribedSubscription(backend: Backend) async throws {
        let configure: (inout AppConfiguration) -> Void = { $0.reminders.confirmSubscriptions = true }
        try await withTestApp(backend: backend, clock: ManualClock("2030-01-01T10:00:00Z"), configure: configure) { client, store in
            try await client.createEvent(date: "2030-06-01")
            try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#)
            let token = try await store.sqlRaw("SELECT token FROM subscriptions").first()?.decode(column: "token", as: String.self) ?? ""
            let left = try await client.execute(
                uri: "/unsubscribe?token=\(token)", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "List-Unsubscribe=One-Click"))
            #expect(left.status == .ok)
            let confirmed = try await client.send(.post, "/confirm?token=\(token)")
            #expect(confirmed.status == .conflict)
            #expect(String(buffer: confirmed.body).contains("Unsubscribed"))
            let status = try await store.sqlRaw("SELECT status FROM subscriptions").first()?.decode(column: "status", as: String.self)
            #expect(status == "unsubscribed")
            let reminders = try await store.sqlRaw("SELECT COUNT(*) AS n FROM deliveries WHERE kind = 'reminder'").first()?.decode(
                column: "n", as: Int.self)
            #expect(reminders == 0)
        }
    }
}
