import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SQLKit
import Synchronization
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerHTTP
@testable import EventManagerMail
@testable import EventManagerStorage

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

    /// Time jumps to the deadline: a sleeping worker wakes at once, and the test sees the time
    /// it woke at.
    func sleep(until deadline: Timestamp) async throws {
        try Task.checkCancellation()
        current.withLock { $0 = max($0, deadline) }
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

/// A fresh database: a SQLite file in a temporary directory, or a new PostgreSQL database on
/// the test server. `make` registers its removal with the test's `TestResources` scope.
struct TemporaryDatabase: Sendable {
    let backend: Backend
    let directory: URL
    let name: String
    var path: String { directory.appendingPathComponent("test.sqlite").path }

    private init(backend: Backend) {
        self.backend = backend
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("em-\(UUID().uuidString)")
        name = "em_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// Creates the database (empty, not migrated); it is removed when the test's scope ends.
    static func make(backend: Backend = .sqlite) async throws -> TemporaryDatabase {
        let database = TemporaryDatabase(backend: backend)
        if backend == .postgres { try await admin { try await $0.raw("CREATE DATABASE \(unsafeRaw: database.name)").run() } }
        try TestResources.current().onEnd { await database.remove() }
        return database
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

    /// A migrated store on this database, shut down when the test's scope ends (before the
    /// database is removed: scopes end in reverse order).
    func open(poolSize: Int = 10) async throws -> DatabaseStore {
        let store = try DatabaseStore(url: url, poolSize: poolSize, logger: Logger(label: "test"))
        try TestResources.current().onEnd { await store.shutdown() }
        try await store.migrate()
        return store
    }

    private func remove() async {
        try? FileManager.default.removeItem(at: directory)
        guard backend == .postgres else { return }
        try? await Self.admin { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
    }

    /// Runs `body` on the server's admin database.
    static func admin(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Void) async throws {
        guard let url = Backend.postgresURL, let parsed = DatabaseURL(url) else {
            throw TestSetupError("EVENT_MANAGER_TEST_POSTGRES_URL is not a postgres:// URL")
        }
        let store = try DatabaseStore(url: parsed, poolSize: 1, logger: Logger(label: "test-admin"))
        do {
            try await store.write { try await body($0) }
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

/// The configuration HTTP tests start from: a quiet log, no rate limits, no keys needed.
func testConfiguration(_ database: TemporaryDatabase) -> AppConfiguration {
    var configuration = AppConfiguration()
    configuration.database = database.url
    configuration.ledgerDirectory = database.directory.appendingPathComponent("ledger").path
    configuration.logLevel = .critical
    configuration.rateLimits = .disabled
    configuration.authMode = .disabled
    configuration.reminders.messageIDDomain = "test.example"
    // Router tests have no socket peer; tests of the allow-list set their own.
    configuration.server.metricsAllowedClients = ["*"]
    return configuration
}

/// Runs `body` against the real application, built by `buildApplication` from `configure`d
/// test configuration over a new database, through `app.test(.router)` (or `.live` for tests
/// that need a real socket). Mail goes to `transport`.
///
/// `inspect` is a second store on the same database for assertions about rows; on SQLite it
/// shares the application's writer queue, as every store of one file in one process does.
func withTestApp<Value>(
    backend: Backend = .sqlite, clock: ManualClock = ManualClock(), limits: APILimits = APILimits(),
    rateLimits: RateLimitSettings = .disabled, authMode: AuthMode = .disabled, role: AppConfiguration.NodeRole = .all,
    transport: RecordingTransport = RecordingTransport(), setup: TestingSetup = .router,
    configure: (inout AppConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (_ client: any TestClientProtocol, _ inspect: DatabaseStore) async throws -> Value
) async throws -> Value {
    let database = try await TemporaryDatabase.make(backend: backend)
    var configuration = testConfiguration(database)
    configuration.limits = limits
    configuration.rateLimits = rateLimits
    configuration.authMode = authMode
    configuration.role = role
    configure(&configuration)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let app = try await buildApplication(
        configuration: configuration, dependencies: AppDependencies(clock: clock, mailTransport: transport, logger: logger))
    let inspect = try await database.open(poolSize: 2)
    return try await app.test(setup) { client in try await body(client, inspect) }
}

/// Creates an account straight in the store and returns `Authorization` headers for its key.
func apiKey(_ store: DatabaseStore, name: String = "org", role: Role = .organizer) async throws -> HTTPFields {
    let accounts = SQLAccountStore(store: store)
    let account = try await accounts.createAccount(name: name, role: role, now: .minimum)
    let (_, token) = try await accounts.createKey(accountID: account.id, now: .minimum)
    return [.authorization: "Bearer \(token.text)"]
}

extension DatabaseStore {
    /// A read for assertions: `try await store.sqlRaw("SELECT ...").first()`.
    func sqlRaw(_ query: SQLQueryString) -> TestQuery { TestQuery(store: self, query: query) }
}

/// A query tests run through `DatabaseStore.read`.
struct TestQuery {
    let store: DatabaseStore
    let query: SQLQueryString

    func first() async throws -> (any SQLRow)? { try await store.read { try await $0.raw(query).first() } }
    func all() async throws -> [any SQLRow] { try await store.read { try await $0.raw(query).all() } }
    func run() async throws { try await store.read { try await $0.raw(query).run() } }
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
