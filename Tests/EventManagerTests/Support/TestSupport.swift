import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
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

/// A fresh SQLite file in a temporary directory, removed when the test ends.
struct TemporaryDatabase {
    let directory: URL
    var path: String { directory.appendingPathComponent("test.sqlite").path }

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("em-\(UUID().uuidString)")
    }

    func open() async throws -> DatabaseStore {
        let store = try DatabaseStore(url: .sqliteFile(path: path), logger: Logger(label: "test"))
        try await store.migrate()
        return store
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs `body` against the full router over a new SQLite database, through `app.test(.router)`
/// (or `.live` for tests that need a real socket).
func withTestApp<Value>(
    clock: ManualClock = ManualClock(), limits: APILimits = APILimits(), rateLimits: RateLimitSettings = .disabled,
    authMode: AuthMode = .disabled, setup: TestingSetup = .router,
    _ body: @Sendable (any TestClientProtocol, DatabaseStore) async throws -> Value
) async throws -> Value {
    let database = TemporaryDatabase()
    defer { database.remove() }
    let store = try await database.open()
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let reminders = SQLReminderStore(store: store, settings: ReminderSettings(messageIDDomain: "test.example"))
    let router = buildRouter(
        events: CachedEventRepository(base: SQLEventRepository(store: store, observer: reminders)), subscriptions: reminders,
        accounts: SQLAccountStore(store: store), clock: clock,
        settings: RouterSettings(limits: limits, rateLimits: rateLimits, authMode: authMode), logger: logger
    )
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
