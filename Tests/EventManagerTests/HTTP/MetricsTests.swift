import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerHTTP
@testable import EventManagerMail
@testable import EventManagerMetrics
@testable import EventManagerStorage

@Suite(.resources) struct MetricsTests {
    /// The sample of `name` with exactly these labels, from the Prometheus text.
    static func sample(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { continue }
            let labelText = parts[0].dropFirst(name.count)
            var found: [String: String] = [:]
            for pair in labelText.dropFirst().dropLast().split(separator: ",") {
                let keyValue = pair.split(separator: "=", maxSplits: 1)
                guard keyValue.count == 2 else { continue }
                found[String(keyValue[0])] = String(keyValue[1].dropFirst().dropLast())
            }
            if found == labels { return Double(parts[1]) }
        }
        return nil
    }

    @Test(arguments: Backend.all) func requestsAreCountedByRouteAndStatusWithLatency(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            let event = try await client.createEvent()
            let id = try #require(event["id"] as? Int)
            for _ in 0..<3 { try await client.send(.get, "/events/\(id)") }
            try await client.send(.get, "/events/999999")
            try await client.send(.get, "/no/such/route")
            let response = try await client.send(.get, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: response.body)
            #expect(Self.sample(text, "http_requests_total", ["route": "/events/{id}", "method": "GET", "status": "200"]) == 3)
            #expect(Self.sample(text, "http_requests_total", ["route": "/events/{id}", "method": "GET", "status": "404"]) == 1)
            #expect(Self.sample(text, "http_requests_total", ["route": "/events", "method": "POST", "status": "201"]) == 1)
            #expect(Self.sample(text, "http_requests_total", ["route": "unmatched", "method": "GET", "status": "404"]) == 1)
            #expect(Self.sample(text, "http_request_duration_seconds_count", ["route": "/events/{id}", "method": "GET"]) == 4)
            #expect(text.contains("http_request_duration_seconds_bucket{route=\"/events/{id}\",method=\"GET\",le=\"0.001\"}"))
        }
    }

    @Test(arguments: Backend.all) func workerOutcomesLatenessQueueDepthAndPoolAreReported(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let metrics = AppMetrics()
        addStorageSamplers(metrics: metrics, store: harness.store, queue: harness.queue, logger: Logger(label: "test"))
        let event = try await harness.event(startingIn: 40)
        try await harness.subscribe(event, "a@example.com")
        try await harness.subscribe(event, "b@example.com")
        try await harness.subscribe(event, "c@example.com", minutes: 5)
        var logger = Logger(label: "worker")
        logger.logLevel = .critical
        var settings = WorkerSettings()
        settings.retry.maxAttempts = 3
        let worker = ReminderWorker(
            queue: harness.queue, transport: harness.transport,
            messages: ReminderMessages(sender: "reminders@test.example", publicURL: "http://127.0.0.1:8000"), clock: harness.clock,
            settings: settings, owner: "w", logger: logger, metrics: metrics, jitter: { 0 }
        )
        harness.transport.behaviour.withLock {
            $0 = { mail in if mail.to == "b@example.com" { throw MailError(.transient, "451 try later") } }
        }
        harness.advance(minutes: 10)
        harness.clock.advance(milliseconds: 2_500)  // due ten minutes ago plus 2.5 s: sent 2.5 s late
        #expect(try await worker.processDueBatch() == 2)
        let text = String(decoding: await metrics.render(), as: UTF8.self)
        #expect(Self.sample(text, "deliveries_total", ["kind": "reminder", "outcome": "sent"]) == 1)
        #expect(Self.sample(text, "deliveries_total", ["kind": "reminder", "outcome": "retried"]) == 1)
        #expect(Self.sample(text, "reminder_lateness_seconds_count") == 1)
        #expect(Self.sample(text, "reminder_lateness_seconds_bucket", ["le": "2.0"]) == 0)
        #expect(Self.sample(text, "reminder_lateness_seconds_bucket", ["le": "5.0"]) == 1)
        #expect(Self.sample(text, "queue_depth", ["state": "scheduled"]) == 2)
        #expect(Self.sample(text, "queue_depth", ["state": "sending"]) == 0)
        #expect(Self.sample(text, "queue_depth", ["state": "sent"]) == nil, "history is not queue depth")
        #expect(Self.sample(text, "webhook_queue_depth") == 0)
        #expect(Self.sample(text, "db_pool_size") == Double(harness.store.poolSize))
        #expect(Self.sample(text, "db_pool_connections_in_use") == 0)
    }

    @Test func aWorkerServesHealthReadyAndMetricsButNoAPI() async throws {
        let metrics = AppMetrics()
        let smtpDown = ReadinessCheck(name: "smtp", errorCode: "smtp_unavailable", failure: "the SMTP server does not accept a session") {
            throw MailError(.transient, "connection refused")
        }
        let database = ReadinessCheck(name: "database", errorCode: "database_unavailable", failure: "the database does not answer") {}
        for (checks, status) in [([database], HTTPResponse.Status.ok), ([database, smtpDown], .serviceUnavailable)] {
            var server = ServerSettings()
            server.metricsAllowedClients = ["*"]
            let router = buildWorkerRouter(readiness: checks, metrics: metrics, server: server, logger: Logger(label: "test"))
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.router) { client in
                let health = try await client.send(.get, "/health")
                #expect(health.status == .ok)
                let ready = try await client.send(.get, "/ready")
                #expect(ready.status == status)
                if status == .ok {
                    #expect(String(buffer: ready.body) == #"{"status":"ready","database":"ok"}"#)
                } else {
                    #expect(try ready.errorCode() == "smtp_unavailable")
                }
                #expect(try await client.send(.get, "/metrics").status == .ok)
                let api = try await client.send(.get, "/events")
                #expect(api.status == .notFound)
            }
        }
    }

    /// By default only loopback peers read `/metrics`; the socket's peer decides, never a header.
    @Test func metricsAreServedToAllowedClientsOnly() async throws {
        func allow(_ clients: [String]) -> (inout AppConfiguration) -> Void { { $0.server.metricsAllowedClients = clients } }
        try await withTestApp(configure: allow(["127.0.0.1", "::1"])) { client, _ async throws in
            let refused = try await client.send(.get, "/metrics", headers: [HTTPField.Name("X-Forwarded-For")!: "127.0.0.1"])
            #expect(refused.status == .forbidden, "a router test has no socket peer, and a forwarded address counts for nothing")
            #expect(try refused.errorCode() == "metrics_not_allowed")
        }
        try await withTestApp(setup: .live, configure: allow(["10.0.0.0/8", "127.0.0.0/8"])) { client, _ async throws in
            #expect(try await client.send(.get, "/metrics").status == .ok, "127.0.0.1 is in 127.0.0.0/8")
        }
        try await withTestApp(setup: .live, configure: allow(["10.0.0.0/8"])) { client, _ async throws in
            #expect(try await client.send(.get, "/metrics").status == .forbidden)
        }
    }

    @Test func anInvalidAllowListStopsStartUp() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("em-\(UUID().uuidString).json").path
        try #"{"metrics": {"allowed_clients": ["127.0.0.1", "not-an-address"]}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        await #expect(throws: ConfigurationError.self) { try await AppConfiguration.load(path: path, environment: [:]) }
    }

    @Test func aCachedCheckAsksItsDependencyOncePerInterval() async throws {
        let clock = ManualClock()
        let calls = Counter()
        let check = ReadinessCheck(name: "smtp", errorCode: "x", failure: "x") { _ = calls.increment() }.cached(seconds: 5, clock: clock)
        for _ in 0..<10 { try await check.probe() }
        clock.advance(milliseconds: 5_000)
        try await check.probe()
        #expect(calls.increment() == 3)
    }
}
