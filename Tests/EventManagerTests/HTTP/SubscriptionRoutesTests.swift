import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SQLKit
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

@Suite(.resources) struct SubscriptionRoutesTests {
    /// Once the event has started it takes no new subscriptions, but asking again for one that
    /// exists is still answered with it.
    @Test func anExistingSubscriptionIsAnsweredAfterTheStart() async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(clock: clock) { client, _ in
            try await client.createEvent(date: "2030-01-01T12:00:00Z")
            #expect(try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"early@example.com"}"#).status == .created)
            clock.advance(milliseconds: 3 * 3_600_000)
            let again = try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"Early@example.com"}"#)
            #expect(again.status == .ok)
            #expect(try again.object()["email"] as? String == "early@example.com")
            let late = try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"late@example.com"}"#)
            #expect(late.status == .conflict)
            #expect(try late.errorCode() == "event_started")
        }
    }

    @Test(arguments: Backend.all) func subscribeOnceThenGetTheSameSubscription(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(backend: backend, clock: clock) { client, store in
            try await client.createEvent(date: "2030-01-01T12:00:00Z")
            let created = try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"Alice@Example.com"}"#)
            #expect(created.status == .created)
            let body = try created.object()
            #expect(body["remind_before_minutes"] as? Int == 30)
            #expect(body["remind_at"] as? String == "2030-01-01T11:30:00Z")
            #expect(body["status"] as? String == "active")
            #expect(body["reminder_state"] as? String == "scheduled")
            #expect(body["token"] == nil, "the unsubscribe token only travels by email")

            let again = try await client.send(
                .post, "/events/1/subscriptions", json: #"{"email":"alice@example.com","remind_before_minutes":5}"#)
            #expect(again.status == .ok)
            #expect(try again.object()["id"] as? Int == body["id"] as? Int)
            let count = try await store.sqlRaw("SELECT COUNT(*) AS n FROM deliveries").first()?.decode(column: "n", as: Int.self)
            #expect(count == 1)

            let seed = try await client.send(
                .post, "/subscribe", json: #"{"event_id":1,"email":"bob@example.com","remind_before_minutes":60}"#)
            #expect(seed.status == .created)
            #expect(try seed.object()["remind_at"] as? String == "2030-01-01T11:00:00Z")

            let list = try await client.send(.get, "/events/1/subscriptions")
            #expect(try list.array().compactMap { $0["email"] as? String } == ["Alice@Example.com", "bob@example.com"])
        }
    }

    @Test(arguments: Backend.all) func refusesWhatCannotBeSubscribed(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(backend: backend, clock: clock) { client, _ in
            #expect(try await client.send(.post, "/events/9/subscriptions", json: #"{"email":"a@example.com"}"#).status == .notFound)
            #expect(try await client.send(.post, "/subscribe", json: #"{"event_id":9,"email":"a@example.com"}"#).status == .notFound)
            try await client.createEvent(date: "2030-01-01T09:00:00Z")
            let started = try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#)
            #expect(started.status == .conflict)
            #expect(try started.errorCode() == "event_started")
            try await client.createEvent(date: "2030-06-01")
            for bad in [
                #"{"email":"no-at-sign"}"#, #"{"email":"a@@example.com"}"#, #"{"email":"a b@example.com"}"#, #"{"email":"a@localhost"}"#,
                #"{"email":"\#(String(repeating: "x", count: 65))@example.com"}"#,
                #"{"email":"a@example.com","remind_before_minutes":40321}"#,
                #"{"email":"a@example.com","remind_before_minutes":-1}"#, #"{"email":"a@example.com","color":"red"}"#, #"{}"#,
                #"{"email":"a@example.com\r\nBcc: b@example.com"}"#,
            ] {
                let response = try await client.send(.post, "/events/2/subscriptions", json: bad)
                #expect(response.status == .unprocessableContent, "\(bad)")
            }
            #expect(try await client.send(.post, "/subscribe", json: #"{"email":"a@example.com"}"#).status == .unprocessableContent)
        }
    }

    @Test(arguments: Backend.all) func aSubscriptionWhoseReminderTimeHasPassedIsDueNow(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(backend: backend, clock: clock) { client, store in
            try await client.createEvent(date: "2030-01-01T10:10:00Z")
            let response = try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#)
            #expect(response.status == .created)
            let next = try await store.sqlRaw("SELECT next_attempt_at FROM deliveries").first()?.decode(
                column: "next_attempt_at", as: Int64.self)
            #expect(next == clock.now().millisecondsSinceEpoch)
        }
    }

    @Test(arguments: Backend.all) func unsubscribeByTokenAndByOneClick(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(backend: backend, clock: clock) { client, store in
            try await client.createEvent(date: "2030-06-01")
            try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#)
            try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"b@example.com"}"#)
            let rows = try await store.sqlRaw("SELECT token, feed_token FROM subscriptions ORDER BY id").all()
            let tokens = try rows.map { try $0.decode(column: "token", as: String.self) }
            let feedTokens = try rows.map { try $0.decode(column: "feed_token", as: String.self) }
            // Both start with the time they were made (their indexes grow at the end), then 256 and 128 random bits.
            let made = String(clock.now().millisecondsSinceEpoch, radix: 16)
            #expect(tokens.allSatisfy { $0.hasPrefix("0" + made) && $0.dropFirst(12).count >= 43 }, "\(tokens)")
            #expect(feedTokens.allSatisfy { $0.hasPrefix("0" + made) && $0.dropFirst(12).count == 32 }, "\(feedTokens)")
            #expect(Set(tokens + feedTokens).count == 4)

            // The page never unsubscribes by itself: link scanners follow links.
            let page = try await client.send(.get, "/unsubscribe?token=\(tokens[0])")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(String(buffer: page.body).contains("List-Unsubscribe"))
            let stillActive = try await client.send(.get, "/events/1/subscriptions").array().map { $0["status"] as? String }
            #expect(stillActive == ["active", "active"])

            let oneClick = try await client.execute(
                uri: "/unsubscribe?token=\(tokens[0])", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "List-Unsubscribe=One-Click")
            )
            #expect(oneClick.status == .ok)
            #expect(try await client.send(.delete, "/subscriptions/\(tokens[1])").status == .noContent)
            #expect(try await client.send(.delete, "/subscriptions/not-a-token").status == .notFound)
            let statuses = try await client.send(.get, "/events/1/subscriptions").array().map { $0["status"] as? String }
            #expect(statuses == ["unsubscribed", "unsubscribed"])
            let pending = try await store.sqlRaw("SELECT COUNT(*) AS n FROM deliveries WHERE state = 'scheduled'").first()?
                .decode(column: "n", as: Int.self)
            #expect(pending == 0)

            let missingBody = try await client.execute(
                uri: "/unsubscribe?token=\(tokens[0])", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "")
            )
            #expect(missingBody.status == .unprocessableContent)
            #expect(try await client.send(.get, "/unsubscribe").status == .badRequest)

            // Subscribing again after unsubscribing reactivates the same subscription.
            let back = try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#)
            #expect(back.status == .created)
            #expect(try back.object()["status"] as? String == "active")
        }
    }

    @Test(arguments: Backend.all) func movingAnEventThroughTheAPIReschedulesItsReminders(backend: Backend) async throws {
        try await withTestApp(backend: backend, clock: ManualClock("2030-01-01T10:00:00Z")) { client, _ in
            try await client.createEvent(date: "2030-06-01T18:00:00Z")
            try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com","remind_before_minutes":60}"#)
            try await client.send(.patch, "/events/1", json: #"{"date":"2030-06-02T18:00:00Z"}"#)
            let list = try await client.send(.get, "/events/1/subscriptions").array()
            #expect(list.first?["remind_at"] as? String == "2030-06-02T17:00:00Z")
            #expect(list.first?["reminder_state"] as? String == "scheduled")
        }
    }

    /// The pages that email links open cannot be framed, sniffed or leak their token.
    @Test func pagesSendAStrictSecurityPolicy() async throws {
        try await withTestApp { client, _ in
            let page = try await client.send(.get, "/unsubscribe?token=abc")
            #expect(page.status == .ok)
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'none'"))
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            #expect(String(buffer: page.body).contains("<html lang=\"en\">"))
            let json = try await client.send(.get, "/events")
            #expect(json.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        }
    }
}
