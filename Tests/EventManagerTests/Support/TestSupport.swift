import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SQLKit
import Synchronization
import Testing

@testable import EventManager

/// A clock that moves only when a test moves it.
final class ManualClock: WallClock {
    private let current: Mutex<Timestamp>

    init(_ start: String = "2026-01-01T12:00:00Z") {
        guard case .instant(let instant)? = DateInput.parse(start) else { fatalError("bad start \(start)") }
        current = Mutex(instant)
    }

    func now() -> Timestamp { current.withLock { $0 } }

    func advance(milliseconds: Int64) {
        current.withLock { $0 = $0.adding(milliseconds: milliseconds) }
    }
}

/// The databases storage tests run on. PostgreSQL joins when `EVENT_MANAGER_TEST_POSTGRES_URL`
/// names a server (an admin URL, e.g. `postgres://postgres@127.0.0.1:5432/postgres`); every test
/// then gets a database of its own.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["EVENT_MANAGER_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `EVENT_MANAGER_REQUIRE_POSTGRES=1` (CI) turns a missing server into a failure.
    static var postgresRequired: Bool { ProcessInfo.processInfo.environment["EVENT_MANAGER_REQUIRE_POSTGRES"] == "1" }

    static var all: [Backend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }
}

/// A fresh database removed when the test ends: a SQLite file in a temporary directory, or a new
/// PostgreSQL database on the test server.
struct TemporaryDatabase: Sendable {
    let backend: Backend
    let directory: URL
    let name: String
    var path: String { directory.appendingPathComponent("test.sqlite").path }

    init(backend: Backend = .sqlite) {
        self.backend = backend
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("em-\(UUID().uuidString)")
        name = "em_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    var url: DatabaseURL {
        switch backend {
        case .sqlite: return .sqliteFile(path: path)
        case .postgres:
            var components = URLComponents(string: Backend.postgresURL!)!
            components.path = "/" + name
            return .postgres(url: components.string!)
        }
    }

    func open(poolSize: Int = 10) async throws -> DatabaseStore {
        if backend == .postgres { try await Self.admin { try await $0.raw("CREATE DATABASE \(unsafeRaw: name)").run() } }
        let store = try DatabaseStore(url: url, poolSize: poolSize, logger: Logger(label: "test"))
        try await store.migrate()
        return store
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
        guard backend == .postgres else { return }
        let name = self.name
        // Dropped in the background; CI starts from an empty server, so a crash leaves nothing behind there.
        Task.detached { try? await Self.admin { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() } }
    }

    /// Runs `body` on the server's admin database.
    static func admin(_ body: @Sendable (any SQLDatabase) async throws -> Void) async throws {
        guard let url = Backend.postgresURL, let parsed = DatabaseURL(url) else {
            throw TestSetupError("EVENT_MANAGER_TEST_POSTGRES_URL is not a postgres:// URL")
        }
        let store = try DatabaseStore(url: parsed, poolSize: 1, logger: Logger(label: "test-admin"))
        do {
            try await body(try store.sql())
            await store.shutdown()
        } catch {
            await store.shutdown()
            throw error
        }
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` against the full router over a new SQLite database, through `app.test(.router)`
/// (or `.live` for tests that need a real socket).
///
/// On PostgreSQL the app is wired as an API node of several: no read cache, rate limits in the database.
func withTestApp<Value>(
    backend: Backend = .sqlite, clock: ManualClock = ManualClock(), limits: APILimits = APILimits(),
    rateLimits: RateLimitSettings = .disabled, authMode: AuthMode = .disabled, metrics: AppMetrics? = nil,
    setup: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol, DatabaseStore) async throws -> Value
) async throws -> Value {
    let database = TemporaryDatabase(backend: backend)
    defer { database.remove() }
    let store = try await database.open()
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let reminders = SQLReminderStore(store: store, settings: ReminderSettings(messageIDDomain: "test.example"))
    let settings = RouterSettings(limits: limits, rateLimits: rateLimits, authMode: authMode, metrics: metrics)
    let router: Router<AppRequestContext>
    if backend == .sqlite {
        router = buildRouter(
            events: CachedEventRepository(base: SQLEventRepository(store: store, observer: reminders)), subscriptions: reminders,
            accounts: SQLAccountStore(store: store), clock: clock, settings: settings, logger: logger
        )
    } else {
        router = buildRouter(
            events: SQLEventRepository(store: store, observer: reminders), subscriptions: reminders,
            accounts: SQLAccountStore(store: store), clock: clock, settings: settings,
            limiters: RateLimiters(settings: rateLimits) { SQLRateLimiter(store: store, scope: $0, limits: $1) }, logger: logger
        )
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
    do {
        let value = try await app.test(setup) { client in try await body(client, store) }
        await store.shutdown()
        return value
    } catch {
        await store.shutdown()
        throw error
    }
}

extension TestClientProtocol {
    /// Sends a JSON body (a string literal keeps tests readable and lets them send malformed JSON).
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil,
        contentType: String = "application/json", headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if json != nil { headers[.contentType] = contentType }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// Creates an event and returns its JSON object.
    @discardableResult
    func createEvent(
        title: String = "Convention", location: String = "Tel Aviv", date: String = "2030-10-27", popularity: Int = 0,
        extra: String = ""
    ) async throws -> [String: Any] {
        let response = try await send(
            .post, "/events",
            json: #"{"title":"\#(title)","location":"\#(location)","date":"\#(date)","popularity":\#(popularity)\#(extra)}"#
        )
        #expect(response.status == .created, "\(String(buffer: response.body))")
        return try response.object()
    }
}

extension TestResponse {
    func object() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])
    }

    func array() throws -> [[String: Any]] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: body)) as? [[String: Any]])
    }

    /// The `error.code` of an error body.
    func errorCode() throws -> String? {
        (try object()["error"] as? [String: Any])?["code"] as? String
    }

    func errorMessage() throws -> String {
        ((try object()["error"] as? [String: Any])?["message"] as? String) ?? ""
    }

    /// The URI of the `rel="next"` link, relative to the server.
    var nextLink: String? {
        guard let link = headers[HTTPField.Name("Link")!] else { return nil }
        guard let start = link.firstIndex(of: "<"), let end = link.firstIndex(of: ">") else { return nil }
        return String(link[link.index(after: start)..<end])
    }
}

extension Data {
    init(buffer: ByteBuffer) {
        self.init(buffer.readableBytesView)
    }
}
