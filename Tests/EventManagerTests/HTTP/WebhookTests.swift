import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerMail
@testable import EventManagerStorage
@testable import EventManagerWebhooks

/// Webhooks end to end: registered over HTTP, written with each change, delivered by the
/// dispatcher over real sockets to a receiver in Python that checks every signature with its
/// own `hmac`, on both databases.
@Suite(.resources, .enabled(if: SMTPPeer.available, "needs python3"), .timeLimit(.minutes(2)))
struct WebhookTests {
    /// Tests run their receivers on 127.0.0.1.
    static func allowPrivate(_ configuration: inout AppConfiguration) { configuration.webhooks.policy.allowPrivate = true }

    static func dispatcher(_ store: DatabaseStore, clock: ManualClock, allowPrivate: Bool = true, timeout: Int = 5) -> WebhookDispatcher {
        var settings = WebhookSettings()
        settings.policy.allowPrivate = allowPrivate
        settings.timeoutSeconds = timeout
        return WebhookDispatcher(
            queue: SQLWebhookStore(store: store),
            client: WebhookHTTPClient(settings: WebhookClientSettings(policy: settings.policy, timeout: .seconds(timeout))),
            clock: clock, settings: settings, owner: "hooks-test", logger: quietLogger())
    }

    /// Registers an endpoint for `events` and hands its secret to the receiver; returns its id.
    static func register(
        _ client: any TestClientProtocol, _ receiver: WebhookReceiver, events: [WebhookEventType] = WebhookEventType.subscribable,
        headers: HTTPFields
    ) async throws -> Int {
        let list = events.map { "\"\($0.rawValue)\"" }.joined(separator: ",")
        let created = try await client.send(.post, "/webhooks", json: #"{"url":"\#(receiver.url)","events":[\#(list)]}"#, headers: headers)
        #expect(created.status == .created, "\(String(buffer: created.body))")
        let body = try created.object()
        let secret = try #require(body["secret"] as? String)
        #expect(secret.hasPrefix("whsec_"))
        try receiver.use(secret: secret)
        return try #require(body["id"] as? Int)
    }

    @Test(arguments: Backend.all) func aReceiverThatFailsForAWhileGetsEveryEventSignedAndOnce(backend: Backend) async throws {
        let receiver = try await WebhookReceiver.start(failFirst: 4)
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(
            backend: backend, clock: clock, authMode: .required, role: .api, configure: Self.allowPrivate
        ) {
            client, store in
            let owner = try await apiKey(store, name: "owner")
            let other = try await apiKey(store, name: "other")
            let hook = try await Self.register(client, receiver, headers: owner)

            // Every kind of change to the owner's event; another account's event is not theirs to hear of.
            let event = #"{"title":"Standup","location":"Room 1","date":"2030-01-01T12:00:00Z"}"#
            #expect(try await client.send(.post, "/events", json: event, headers: owner).status == .created)
            #expect(try await client.send(.post, "/events", json: event, headers: other).status == .created)
            #expect(try await client.send(.patch, "/events/1", json: #"{"location":"Room 2"}"#, headers: owner).status == .ok)
            let subscribed = try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"ann@example.com"}"#)
            #expect(subscribed.status == .created)
            let row = try await store.sqlRaw("SELECT token FROM subscriptions").first()
            let token = try #require(try row?.decode(column: "token", as: String.self))

            // The reminder goes out (to a recording transport): reminder.sent, as the ledger shows it.
            clock.advance(milliseconds: 90 * 60_000)
            let worker = ReminderWorker(
                queue: SQLDeliveryQueue(store: store), transport: RecordingTransport(),
                messages: ReminderMessages(sender: "reminders@test.example", publicURL: "http://127.0.0.1:8000"), clock: clock,
                settings: WorkerSettings(), owner: "hooks-worker", logger: quietLogger(), jitter: { 0 })
            #expect(try await worker.processDueBatch() == 1)
            #expect(try await client.send(.delete, "/subscriptions/\(token)").status == .noContent)
            #expect(try await client.send(.delete, "/events/1", headers: owner).status == .noContent)

            // The dispatcher runs through the receiver's failures on the retry schedule.
            let dispatcher = Self.dispatcher(store, clock: clock)
            for _ in 0..<8 {
                try await dispatcher.dispatchDue()
                clock.advance(milliseconds: 31 * 60_000)
            }
            let requests = try receiver.requests()
            #expect(requests.allSatisfy { $0.verified }, "every signature verifies with Python's hmac")
            let delivered = requests.filter { $0.status == 200 }
            #expect(
                delivered.compactMap(\.type).sorted() == [
                    "event.created", "event.deleted", "event.updated", "reminder.sent", "subscription.cancelled",
                    "subscription.created",
                ])
            // Each message arrived once, under the same webhook-id it failed with before.
            let ids = delivered.compactMap { $0.headers["webhook-id"] }
            #expect(Set(ids).count == ids.count)
            let failedIDs = Set(requests.filter { $0.status == 503 }.compactMap { $0.headers["webhook-id"] })
            #expect(failedIDs.count >= 1 && failedIDs.isSubset(of: Set(ids)))
            // The body carries the whole resource, as the API shows it.
            let updated = try #require(delivered.first { $0.type == "event.updated" }?.data)
            #expect(updated["location"] as? String == "Room 2")
            #expect(updated["date"] as? String == "2030-01-01T12:00:00Z")
            let reminder = try #require(delivered.first { $0.type == "reminder.sent" }?.data)
            #expect(reminder["email"] as? String == "ann@example.com")
            #expect(reminder["state"] as? String == "sent")
            let subscription = try #require(delivered.first { $0.type == "subscription.created" }?.data)
            #expect(subscription["email"] as? String == "ann@example.com")
            #expect(subscription["token"] == nil)

            // The delivery log shows the failures and the recovery.
            let log = try await client.send(.get, "/webhooks/\(hook)/deliveries", headers: owner)
            #expect(log.status == .ok)
            let entries = try log.array()
            #expect(entries.count == 6)
            #expect(entries.allSatisfy { $0["state"] as? String == "delivered" && $0["last_status"] as? Int == 200 })
            #expect(entries.contains { ($0["attempts"] as? Int ?? 0) > 1 })
            #expect(try await client.send(.get, "/webhooks/\(hook)/deliveries", headers: other).status == .notFound)
        }
    }

    @Test(arguments: Backend.all) func registrationIsCheckedAndEndpointsBelongToTheirAccount(backend: Backend) async throws {
        try await withTestApp(backend: backend, authMode: .required, role: .api) { client, store in
            let owner = try await apiKey(store, name: "owner")
            let other = try await apiKey(store, name: "other")
            let admin = try await apiKey(store, name: "root", role: .admin)
            let events = #""events":["event.created"]"#
            #expect(
                try await client.send(.post, "/webhooks", json: #"{"url":"https://hooks.example.com/a",\#(events)}"#).status
                    == .unauthorized)
            for url in ["http://127.0.0.1:9/", "http://localhost/x", "http://10.1.2.3/", "http://[::1]/", "http://169.254.169.254/latest"] {
                let refused = try await client.send(.post, "/webhooks", json: #"{"url":"\#(url)",\#(events)}"#, headers: owner)
                #expect(refused.status == .unprocessableContent, "\(url)")
                #expect(String(buffer: refused.body).contains("address_not_allowed"), "\(url)")
            }
            let bad = try await client.send(
                .post, "/webhooks", json: #"{"url":"ftp://x.example/","events":["event.moved"],"x":1}"#, headers: owner)
            #expect(bad.status == .unprocessableContent)
            let codes = (try bad.object()["error"] as? [String: Any])?["details"] as? [[String: Any]] ?? []
            #expect(Set(codes.compactMap { $0["field"] as? String }) == ["url", "events[0]", "x"])

            let created = try await client.send(
                .post, "/webhooks", json: #"{"url":"https://hooks.example.com/a","events":["event.created","event.created"]}"#,
                headers: owner)
            #expect(created.status == .created)
            #expect(created.headers[.location] == "/webhooks/1")
            #expect(try created.object()["events"] as? [String] == ["event.created"])
            // The secret is shown once.
            let shown = try await client.send(.get, "/webhooks/1", headers: owner)
            #expect(try shown.object()["secret"] == nil)
            #expect(try shown.object()["active"] as? Bool == true)
            #expect(try await client.send(.get, "/webhooks/1", headers: other).status == .notFound)
            #expect(try await client.send(.get, "/webhooks", headers: other).array().isEmpty)
            #expect(try await client.send(.get, "/webhooks", headers: admin).array().count == 1)

            // Paused and resumed by its owner; a change of URL is checked like a new one.
            let paused = try await client.send(.patch, "/webhooks/1", json: #"{"active":false}"#, headers: owner)
            #expect(try paused.object()["active"] as? Bool == false)
            #expect(try paused.object()["disabled_reason"] as? String == "paused by its owner")
            let resumed = try await client.send(.patch, "/webhooks/1", json: #"{"active":true}"#, headers: owner)
            #expect(try resumed.object()["active"] as? Bool == true)
            #expect(
                try await client.send(.patch, "/webhooks/1", json: #"{"url":"http://127.0.0.1/"}"#, headers: owner).status
                    == .unprocessableContent)

            // Registered paused; a null is not a flag.
            let registeredPaused = try await client.send(
                .post, "/webhooks", json: #"{"url":"https://hooks.example.com/b","events":["event.created"],"active":false}"#,
                headers: owner)
            #expect(try registeredPaused.object()["active"] as? Bool == false)
            let nullFlag = try await client.send(
                .post, "/webhooks", json: #"{"url":"https://hooks.example.com/b","events":["event.created"],"active":null}"#,
                headers: owner)
            #expect(nullFlag.status == .unprocessableContent)

            // A ping is queued at once and shows in the log.
            let ping = try await client.send(.post, "/webhooks/1/ping", headers: owner)
            #expect(ping.status == .accepted)
            #expect(try ping.object()["type"] as? String == "webhook.ping")
            #expect(try await client.send(.get, "/webhooks/1/deliveries?state=pending", headers: owner).array().count == 1)
            #expect(try await client.send(.get, "/webhooks/1/deliveries?state=lost", headers: owner).status == .badRequest)

            #expect(try await client.send(.delete, "/webhooks/1", headers: other).status == .notFound)
            #expect(try await client.send(.delete, "/webhooks/1", headers: owner).status == .noContent)
            #expect(try await client.send(.get, "/webhooks/1", headers: owner).status == .notFound)
            #expect(try await store.sqlRaw("SELECT COUNT(*) AS n FROM webhook_messages").first()?.decode(column: "n", as: Int.self) == 0)
        }
    }

    @Test(arguments: Backend.all) func anEndpointThatAnswersGoneIsDisabledAndHearsNoMore(backend: Backend) async throws {
        let receiver = try await WebhookReceiver.start(mode: "gone")
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(
            backend: backend, clock: clock, authMode: .required, role: .api, configure: Self.allowPrivate
        ) {
            client, store in
            let owner = try await apiKey(store, name: "owner")
            let hook = try await Self.register(client, receiver, events: [.eventCreated], headers: owner)
            _ = try await client.send(.post, "/events", json: #"{"title":"A","location":"B","date":"2030-02-01"}"#, headers: owner)
            _ = try await client.send(.post, "/events", json: #"{"title":"C","location":"D","date":"2030-02-01"}"#, headers: owner)
            let dispatcher = Self.dispatcher(store, clock: clock)
            var settings = WebhookSettings()
            settings.concurrency = 1
            let serial = WebhookDispatcher(
                queue: SQLWebhookStore(store: store), client: dispatcher.client, clock: clock, settings: settings, owner: "serial",
                logger: quietLogger())
            try await serial.dispatchDue()
            let shown = try await client.send(.get, "/webhooks/\(hook)", headers: owner).object()
            #expect(shown["active"] as? Bool == false)
            #expect(shown["disabled_reason"] as? String == "the endpoint answered 410 Gone")
            // One request told it; the other message failed with the endpoint, unsent.
            #expect(try receiver.requests().count == 1)
            let log = try await client.send(.get, "/webhooks/\(hook)/deliveries", headers: owner).array()
            #expect(log.map { $0["state"] as? String } == ["failed", "failed"])
            _ = try await client.send(.post, "/events", json: #"{"title":"E","location":"F","date":"2030-02-01"}"#, headers: owner)
            #expect(try await client.send(.get, "/webhooks/\(hook)/deliveries", headers: owner).array().count == 2)
        }
    }
    /// A bulk write announces every event it creates or deletes, to the endpoints of those types only.
    @Test(arguments: Backend.all) func bulkWritesAnnounceEachEvent(backend: Backend) async throws {
        try await withTestApp(backend: backend, authMode: .required, role: .api) { client, store in
            let owner = try await apiKey(store, name: "owner")
            let created = try await client.send(
                .post, "/webhooks", json: #"{"url":"https://hooks.example.com/c","events":["event.created"]}"#, headers: owner)
            #expect(created.status == .created)
            let events = #"[{"title":"A","location":"X","date":"2030-01-01"},{"title":"B","location":"Y","date":"2030-01-02"}]"#
            #expect(try await client.send(.post, "/bulk_events", json: events, headers: owner).status == .created)
            #expect(try await client.send(.delete, "/bulk_events", json: "[1, 2]", headers: owner).status == .ok)
            let log = try await client.send(.get, "/webhooks/1/deliveries", headers: owner).array()
            #expect(log.map { $0["type"] as? String } == ["event.created", "event.created"])
            let titles = Set(log.compactMap { (($0["payload"] as? [String: Any])?["data"] as? [String: Any])?["title"] as? String })
            #expect(titles == ["A", "B"])
        }
    }

    /// A worker that claimed a message and died: the lease runs out and another worker sends it,
    /// under the same webhook-id; the log keeps what is delivered until its retention.
    @Test(arguments: Backend.all) func aMessageWhoseWorkerDiedIsSentAfterItsLeaseAndTheLogIsPurgedLater(backend: Backend) async throws {
        let receiver = try await WebhookReceiver.start()
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(
            backend: backend, clock: clock, authMode: .required, role: .api, configure: Self.allowPrivate
        ) {
            client, store in
            let owner = try await apiKey(store, name: "owner")
            let hook = try await Self.register(client, receiver, events: [.eventCreated], headers: owner)
            _ = try await client.send(.post, "/events", json: #"{"title":"A","location":"B","date":"2030-02-01"}"#, headers: owner)
            let queue = SQLWebhookStore(store: store)
            let lease = WebhookSettings().leaseMilliseconds
            let dead = try await queue.claim(owner: "dead-worker", limit: 10, now: clock.now(), leaseMilliseconds: lease)
            #expect(dead.count == 1)
            let dispatcher = Self.dispatcher(store, clock: clock)
            #expect(try await dispatcher.dispatchDue() == 0)
            clock.advance(milliseconds: lease)
            #expect(try await dispatcher.dispatchDue() == 1)
            let received = try receiver.requests()
            #expect(received.count == 1 && received[0].verified)
            #expect(received.first?.headers["webhook-id"] == dead[0].message.messageID)
            // The dead worker's late outcome changes nothing: the lease is no longer its own.
            try await queue.complete(
                dead[0].message.id, owner: "dead-worker", result: .answered(status: 500, latencyMilliseconds: 1),
                outcome: .retry(at: clock.now()), now: clock.now())
            let log = try await client.send(.get, "/webhooks/\(hook)/deliveries", headers: owner).array()
            #expect(log.first?["state"] as? String == "delivered")
            #expect(log.first?["attempts"] as? Int == 2)

            // Kept for the retention, then purged; what still waits is never purged.
            _ = try await client.send(.post, "/webhooks/\(hook)/ping", headers: owner)
            #expect(try await dispatcher.purgeLog() == 0)
            clock.advance(milliseconds: 31 * 86_400_000)
            #expect(try await dispatcher.purgeLog() == 1)
            #expect(
                try await client.send(.get, "/webhooks/\(hook)/deliveries", headers: owner).array().map { $0["type"] as? String } == [
                    "webhook.ping"
                ])
        }
    }
}

/// The client alone, against real sockets: what it refuses, what it does not follow, when it gives up.
@Suite(.resources, .enabled(if: SMTPPeer.available, "needs python3"), .timeLimit(.minutes(1)))
struct WebhookClientTests {
    func client(allowPrivate: Bool, timeout: Duration = .seconds(5)) -> WebhookHTTPClient {
        WebhookHTTPClient(settings: WebhookClientSettings(policy: WebhookAddressPolicy(allowPrivate: allowPrivate), timeout: timeout))
    }

    @Test func loopbackNamesAndAddressesAreRefusedBeforeConnecting() async throws {
        let receiver = try await WebhookReceiver.start()
        for url in ["http://127.0.0.1:\(receiver.port)/hooks", "http://localhost:\(receiver.port)/hooks"] {
            let result = await client(allowPrivate: false).post(url: url, headers: [], body: Array("{}".utf8))
            guard case .failed(let reason, _) = result else {
                Issue.record("\(url) was called: \(result)")
                continue
            }
            #expect(reason.contains("refused"), "\(reason)")
        }
        #expect(try receiver.requests().isEmpty)
        let allowed = await client(allowPrivate: true).post(url: receiver.url, headers: [("webhook-id", "msg_1")], body: Array("{}".utf8))
        #expect(allowed == .answered(status: 200, latencyMilliseconds: allowed.latency))
        #expect(try receiver.requests().first?.headers["webhook-id"] == "msg_1")
    }

    /// HTTPS: a certificate the client trusts is accepted; one it does not is a failed attempt.
    @Test func httpsEndpointsAreCheckedAgainstTheTrustedAuthorities() async throws {
        let certificate = try await TestCertificate.make()
        let receiver = try await WebhookReceiver.start(certificate: certificate)
        let url = "https://localhost:\(receiver.port)/hooks"
        let trusting = WebhookHTTPClient(
            settings: WebhookClientSettings(policy: WebhookAddressPolicy(allowPrivate: true), caFile: certificate.certificate))
        let trusted = await trusting.post(url: url, headers: [("webhook-id", "msg_tls")], body: Array("{}".utf8))
        #expect(trusted == .answered(status: 200, latencyMilliseconds: trusted.latency))
        #expect(try receiver.requests().first?.headers["webhook-id"] == "msg_tls")
        let untrusted = await client(allowPrivate: true).post(url: url, headers: [], body: Array("{}".utf8))
        guard case .failed(let reason, _) = untrusted else {
            Issue.record("an untrusted certificate was accepted: \(untrusted)")
            return
        }
        #expect(reason.contains("bad answer") || reason.contains("certificate") || reason.contains("closed"), "\(reason)")
        #expect(try receiver.requests().count == 1)
    }

    @Test func redirectsAreNotFollowed() async throws {
        let receiver = try await WebhookReceiver.start(mode: "redirect")
        let result = await client(allowPrivate: true).post(url: receiver.url, headers: [], body: Array("{}".utf8))
        #expect(result == .answered(status: 302, latencyMilliseconds: result.latency))
        #expect(try receiver.requests().count == 1)
    }

    @Test func aHugeAnswerIsCutAtTheCap() async throws {
        let receiver = try await WebhookReceiver.start(mode: "huge")
        let result = await client(allowPrivate: true).post(url: receiver.url, headers: [], body: Array("{}".utf8))
        #expect(result == .answered(status: 200, latencyMilliseconds: result.latency))
    }

    @Test func aSilentEndpointTimesOut() async throws {
        let silent = try await SilentServer.start()
        let result = await client(allowPrivate: true, timeout: .seconds(1)).post(
            url: "http://127.0.0.1:\(silent.port)/", headers: [], body: Array("{}".utf8))
        guard case .failed(let reason, _) = result else {
            Issue.record("a silent server answered: \(result)")
            return
        }
        #expect(reason.contains("timed out"), "\(reason)")
        try await silent.stop()
    }

    @Test func nothingListeningIsAFailedAttempt() async throws {
        let result = await client(allowPrivate: true).post(url: "http://127.0.0.1:9/", headers: [], body: [])
        guard case .failed(let reason, _) = result else {
            Issue.record("answered: \(result)")
            return
        }
        #expect(reason.contains("could not connect"), "\(reason)")
    }
}

extension WebhookAttemptResult {
    var latency: Int64 {
        switch self {
        case .answered(_, let latency), .failed(_, let latency): latency
        }
    }
}
