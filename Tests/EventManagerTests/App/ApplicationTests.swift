import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerMail
@testable import EventManagerStorage

/// The application as `buildApplication` wires it, role by role.
@Suite(.resources, .timeLimit(.minutes(1))) struct ApplicationTests {
    let event = #"{"title":"Soon","location":"Here","date":"2030-01-01T10:20:00Z"}"#

    /// Role `all` serves the API and sends: a subscription due now is mailed by its own worker.
    @Test(arguments: Backend.all) func roleAllServesTheAPIAndSends(backend: Backend) async throws {
        let transport = RecordingTransport()
        try await withTestApp(backend: backend, clock: ManualClock("2030-01-01T10:00:00Z"), transport: transport) {
            client, _ async throws in
            #expect(try await client.send(.post, "/events", json: event).status == .created)
            #expect(try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#).status == .created)
            var mails = transport.stream.makeAsyncIterator()
            #expect(await mails.next()?.to == "a@example.com")
        }
    }

    /// Role `api` serves the API and leaves the mail to the workers.
    @Test(arguments: Backend.all) func roleAPIQueuesButNeverSends(backend: Backend) async throws {
        let transport = RecordingTransport()
        try await withTestApp(backend: backend, clock: ManualClock("2030-01-01T10:00:00Z"), role: .api, transport: transport) {
            client, store async throws in
            #expect(try await client.send(.post, "/events", json: event).status == .created)
            #expect(try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#).status == .created)
            #expect(try await client.send(.get, "/metrics").status == .ok)
            let state = try await store.sqlRaw("SELECT state FROM deliveries").first()?.decode(column: "state", as: String.self)
            #expect(state == "scheduled")
            #expect(transport.sessions.load(ordering: .relaxed) == 0)
        }
    }

    /// Role `worker` answers `/health`, `/ready` and `/metrics` only, and sends what API nodes queued.
    @Test(arguments: Backend.all) func roleWorkerSendsAndServesNoAPI(backend: Backend) async throws {
        let transport = RecordingTransport()
        let clock = ManualClock("2030-01-01T10:00:00Z")
        let database = try await TemporaryDatabase.make(backend: backend)
        let store = try await database.open()
        let events = SQLEventRepository(store: store)
        let created = try await events.create(
            [EventDraft(title: "Soon", location: "Here", date: DateInput.parse("2030-01-01T10:20:00Z")!)], now: clock.now())
        let request = SubscriptionRequest(email: try EmailAddress.parse("w@example.com").get(), remindBeforeMinutes: 30)
        _ = try await SQLSubscriptionStore(store: store, settings: ReminderSettings()).subscribe(
            eventID: created[0].id, request: request, now: clock.now())
        var configuration = testConfiguration(database)
        configuration.role = .worker
        let app = try await buildApplication(
            configuration: configuration, dependencies: AppDependencies(clock: clock, mailTransport: transport, logger: quietLogger()))
        try await app.test(.router) { client async throws in
            #expect(try await client.send(.get, "/health").status == .ok)
            #expect(try await client.send(.get, "/ready").status == .ok)
            #expect(try await client.send(.get, "/metrics").status == .ok)
            #expect(try await client.send(.get, "/events").status == .notFound)
            #expect(try await client.send(.post, "/events", json: event).status == .notFound)
            var mails = transport.stream.makeAsyncIterator()
            #expect(await mails.next()?.to == "w@example.com")
        }
    }

    /// The worker sleeps for an hour between looks at the queue; only the wake-up that
    /// subscribing sends can make it deliver within the test's time limit. The subscription is
    /// made after the worker said it went idle, so it cannot have found the mail by itself.
    @Test(arguments: Backend.all) func subscribingOverHTTPWakesTheSleepingWorker(backend: Backend) async throws {
        let transport = RecordingTransport()
        let logs = LogRecorder()
        let database = try await TemporaryDatabase.make(backend: backend)
        var configuration = testConfiguration(database)
        configuration.logLevel = .debug
        configuration.worker.pollInterval = .seconds(3600)
        let app = try await buildApplication(
            configuration: configuration,
            dependencies: AppDependencies(
                clock: ManualClock("2030-01-01T10:00:00Z"), mailTransport: transport,
                logger: Logger(label: "test") { _ in logs }))
        try await app.test(.router) { client async throws in
            #expect(try await client.send(.post, "/events", json: event).status == .created)
            await logs.waitFor("reminder worker idle")
            #expect(try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#).status == .created)
            var mails = transport.stream.makeAsyncIterator()
            #expect(await mails.next()?.to == "a@example.com")
        }
    }

    /// A bad key is counted against the address before the key is looked up; once the address is
    /// refused, further keys get 429 without a database query, and so would a good one.
    @Test(arguments: Backend.all) func keyGuessingIsRateLimitedByAddress(backend: Backend) async throws {
        var limits = RateLimitSettings()
        limits.write = [RateLimit("3 per minute")!]
        try await withTestApp(backend: backend, clock: ManualClock("2030-01-01T10:00:00Z"), rateLimits: limits, authMode: .required) {
            client, store async throws in
            let key = try await apiKey(store)
            let guess: HTTPFields = [.authorization: "Bearer em_0123456789abcdef_\(String(repeating: "x", count: 43))"]
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<5 { statuses.append(try await client.send(.post, "/events", json: event, headers: guess).status) }
            #expect(statuses == [.unauthorized, .unauthorized, .unauthorized, .tooManyRequests, .tooManyRequests])
            let good = try await client.send(.post, "/events", json: event, headers: key)
            #expect(good.status == .tooManyRequests, "the address is refused before any key is looked up")
        }
    }

    /// A good key is limited as its account, not as its address.
    @Test(arguments: Backend.all) func aGoodKeyIsCountedAgainstItsAccount(backend: Backend) async throws {
        var limits = RateLimitSettings()
        limits.write = [RateLimit("2 per minute")!]
        try await withTestApp(backend: backend, clock: ManualClock("2030-01-01T10:00:00Z"), rateLimits: limits, authMode: .required) {
            client, store async throws in
            let key = try await apiKey(store)
            #expect(try await client.send(.post, "/events", json: event, headers: key).status == .created)
            #expect(try await client.send(.post, "/events", json: event, headers: key).status == .created)
            let third = try await client.send(.post, "/events", json: event, headers: key)
            #expect(third.status == .tooManyRequests)
            #expect(try third.errorMessage().contains("from this account"))
        }
    }
}

func quietLogger() -> Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

/// A log handler that lets a test await a message.
final class LogRecorder: LogHandler, Sendable {
    private let state = Mutex<(messages: [String], waiters: [(String, CheckedContinuation<Void, Never>)])>(([], []))

    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        let message = event.message.description
        let ready = state.withLock { state in
            state.messages.append(message)
            let ready = state.waiters.filter { $0.0 == message }.map(\.1)
            state.waiters.removeAll { $0.0 == message }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Returns once `message` has been logged (at once when it already was).
    func waitFor(_ message: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let seen = state.withLock { state in
                if state.messages.contains(message) { return true }
                state.waiters.append((message, continuation))
                return false
            }
            if seen { continuation.resume() }
        }
    }
}
