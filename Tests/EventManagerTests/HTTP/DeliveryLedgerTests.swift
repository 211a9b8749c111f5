import Foundation
import HummingbirdTesting
import Logging
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerMail
@testable import EventManagerStorage

/// The reminder ledger over HTTP: an API node and a worker sending to a real SMTP peer
/// (aiosmtpd) that refuses a mailbox once, on both databases.
@Suite(.resources, .enabled(if: SMTPPeer.available, "needs python3 with aiosmtpd (pip install aiosmtpd)"), .timeLimit(.minutes(2)))
struct DeliveryLedgerTests {
    /// Sends what is due through the real SMTP client, driven by hand.
    func worker(_ store: DatabaseStore, port: Int, clock: ManualClock) -> ReminderWorker {
        var configuration = SMTPConfiguration()
        configuration.port = port
        return ReminderWorker(
            queue: SQLDeliveryQueue(store: store), transport: SMTPTransport(configuration: configuration, logger: quietLogger()),
            messages: ReminderMessages(sender: "reminders@test.example", publicURL: "http://127.0.0.1:8000"), clock: clock,
            settings: WorkerSettings(), owner: "ledger-worker", logger: quietLogger(), jitter: { 0 }
        )
    }

    @Test(arguments: Backend.all) func aFailedReminderShowsItsReplyAndIsSentAfterARetry(backend: Backend) async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(backend: backend, clock: clock, authMode: .required, role: .api) { client, store in
            let owner = try await apiKey(store, name: "owner")
            let other = try await apiKey(store, name: "other")
            let admin = try await apiKey(store, name: "root", role: .admin)
            let event = #"{"title":"Standup","location":"Room 1","date":"2030-01-01T10:20:00Z"}"#
            #expect(try await client.send(.post, "/events", json: event, headers: owner).status == .created)
            for address in ["reject550-1@example.com", "fine@example.com"] {
                #expect(try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"\#(address)"}"#).status == .created)
            }
            let worker = worker(store, port: peer.port, clock: clock)
            #expect(try await worker.processDueBatch() == 2)

            // The owner sees what the server said; nobody else but an admin sees anything.
            let failed = try await client.send(.get, "/events/1/deliveries?state=failed", headers: owner)
            #expect(failed.status == .ok)
            let records = try failed.array()
            #expect(records.count == 1)
            let record = try #require(records.first)
            #expect(record["email"] as? String == "reject550-1@example.com")
            #expect(record["kind"] as? String == "reminder")
            #expect(record["attempts"] as? Int == 1)
            #expect((record["last_reply"] as? String)?.contains("550 5.1.1 mailbox unavailable") == true, "\(record)")
            #expect(record["sent_at"] is NSNull)
            // Subscribed after its reminder time: due at 09:50, sent at once.
            #expect(record["due_at"] as? String == "2030-01-01T09:50:00Z")
            let id = try #require(record["id"] as? Int)
            #expect(try await client.send(.get, "/events/1/deliveries").status == .unauthorized)
            let refused = try await client.send(.get, "/events/1/deliveries", headers: other)
            #expect(refused.status == .forbidden)
            #expect(try refused.errorCode() == "not_owner")
            #expect(try await client.send(.get, "/deliveries/\(id)", headers: other).status == .forbidden)
            #expect(try await client.send(.get, "/events/1/deliveries", headers: admin).array().count == 2)

            // Pages follow the Link header, in id order.
            let first = try await client.send(.get, "/events/1/deliveries?limit=1", headers: owner)
            let next = try #require(first.nextLink)
            let second = try await client.send(.get, next, headers: owner)
            #expect(
                try (first.array() + second.array()).compactMap { $0["email"] as? String } == [
                    "reject550-1@example.com", "fine@example.com",
                ])
            #expect(second.nextLink == nil)

            // A sent delivery cannot be retried; the failed one can, once.
            let sentID = try #require(try second.array().first?["id"] as? Int)
            let notFailed = try await client.send(.post, "/deliveries/\(sentID)/retry", headers: owner)
            #expect(notFailed.status == .conflict)
            #expect(try notFailed.errorCode() == "delivery_not_failed")
            #expect(try await client.send(.post, "/deliveries/\(id)/retry", headers: other).status == .forbidden)
            let retried = try await client.send(.post, "/deliveries/\(id)/retry", headers: owner)
            #expect(retried.status == .accepted)
            #expect(try retried.object()["state"] as? String == "scheduled")
            #expect(try await client.send(.post, "/deliveries/\(id)/retry", headers: owner).status == .conflict)

            #expect(try await worker.processDueBatch() == 1)
            #expect(try peer.messages().flatMap(\.rcptTos).sorted() == ["fine@example.com", "reject550-1@example.com"])
            let delivered = try await client.send(.get, "/deliveries/\(id)", headers: owner).object()
            #expect(delivered["state"] as? String == "sent")
            #expect(delivered["sent_at"] as? String == "2030-01-01T10:00:00Z")
            #expect(delivered["lateness_ms"] as? Int == 0)
            #expect(delivered["last_reply"] is NSNull)
        }
    }

    @Test(arguments: Backend.all) func badQueriesAndUnknownIDsAreClientErrors(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            try await client.createEvent()
            for (uri, code) in [
                ("/events/1/deliveries?state=lost", "invalid_parameter"), ("/events/1/deliveries?limit=0", "invalid_parameter"),
                ("/events/1/deliveries?cursor=abc", "invalid_cursor"), ("/events/1/deliveries?sort=id", "unknown_parameter"),
            ] {
                let response = try await client.send(.get, uri)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(try response.errorCode() == code, "\(uri)")
            }
            #expect(try await client.send(.get, "/events/9/deliveries").status == .notFound)
            #expect(try await client.send(.get, "/deliveries/9").status == .notFound)
            #expect(try await client.send(.get, "/deliveries/x").status == .notFound)
            let unknown = try await client.send(.post, "/deliveries/9/retry")
            #expect(unknown.status == .notFound)
            #expect(try unknown.errorCode() == "delivery_not_found")
        }
    }
}
