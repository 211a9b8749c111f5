import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerHTTP
@testable import EventManagerStorage

@Suite(.resources) struct ErrorHandlingTests {
    @Test func malformedJSONIs400() async throws {
        try await withTestApp { client, _ in
            let response = try await client.send(.post, "/events", json: #"{"title": "#)
            #expect(response.status == .badRequest)
            #expect(try response.errorCode() == "malformed_json")
            #expect(try await client.send(.post, "/events", json: "").status == .badRequest)
        }
    }

    @Test func wrongContentTypeIs415() async throws {
        try await withTestApp { client, _ in
            let response = try await client.send(.post, "/events", json: #"{"title":"a"}"#, contentType: "text/plain")
            #expect(response.status == .unsupportedMediaType)
            #expect(try response.errorCode() == "unsupported_media_type")
            let charset = try await client.send(
                .post, "/events", json: #"{"title":"a","location":"b","date":"2030-01-01"}"#, contentType: "application/json; charset=utf-8"
            )
            #expect(charset.status == .created)
            #expect(
                try await client.send(.post, "/events", json: "{}", contentType: "application/merge-patch+json").status
                    == .unsupportedMediaType)
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        try await withTestApp(limits: APILimits(maxBodyBytes: 1024)) { client, _ in
            let title = String(repeating: "x", count: 2000)
            let response = try await client.send(.post, "/events", json: #"{"title":"\#(title)","location":"b","date":"2030-01-01"}"#)
            #expect(response.status == .contentTooLarge)
            #expect(try response.errorCode() == "body_too_large")
        }
    }

    @Test func unknownRouteIs404AndWrongMethodIs405WithAllow() async throws {
        try await withTestApp { client, _ in
            let missing = try await client.send(.get, "/nowhere")
            #expect(missing.status == .notFound)
            #expect(try missing.errorCode() == "not_found")
            let wrong = try await client.send(.patch, "/events")
            #expect(wrong.status == .methodNotAllowed)
            #expect(wrong.headers[.allow] == "GET, HEAD, POST, PUT, DELETE")
            #expect(try wrong.errorCode() == "method_not_allowed")
            let onItem = try await client.send(.post, "/events/1")
            #expect(onItem.headers[.allow] == "GET, HEAD, PUT, PATCH, DELETE")
            let unknownMethod = try await client.send(HTTPRequest.Method("QUERY")!, "/health")
            #expect(unknownMethod.status == .methodNotAllowed)
            #expect(unknownMethod.headers[.allow] == "GET, HEAD")
        }
    }

    @Test func requestIDIsEchoedOrGenerated() async throws {
        try await withTestApp { client, _ in
            let echoed = try await client.send(.get, "/health", headers: [HTTPField.Name("X-Request-ID")!: "abc-123"])
            #expect(echoed.headers[HTTPField.Name("X-Request-ID")!] == "abc-123")
            let generated = try await client.send(.get, "/health", headers: [HTTPField.Name("X-Request-ID")!: "bad id\u{7}"])
            let id = try #require(generated.headers[HTTPField.Name("X-Request-ID")!])
            #expect(id != "bad id\u{7}" && !id.isEmpty)
        }
    }

    @Test func unknownErrorsAreABare500AndReadyReports503() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let dependencies = APIDependencies(
            events: FailingRepository(), subscriptions: FailingRepository(), accounts: nil, limiters: RateLimiters(settings: .disabled),
            clock: ManualClock())
        let router = buildRouter(dependencies, settings: RouterSettings(), logger: logger)
        try await Application(router: router, logger: logger).test(.router) { client in
            let response = try await client.send(.get, "/events/1")
            #expect(response.status == .internalServerError)
            #expect(try response.errorCode() == "internal_error")
            #expect(!String(buffer: response.body).contains("secret"))
            let ready = try await client.send(.get, "/ready")
            #expect(ready.status == .serviceUnavailable)
            #expect(try ready.errorCode() == "database_unavailable")
            #expect(try await client.send(.get, "/health").status == .ok)
        }
    }

    @Test func bulkCreateIsAtomic() async throws {
        try await withTestApp { client, _ in
            let bad = try await client.send(
                .post, "/bulk_events",
                json:
                    #"[{"title":"ok","location":"x","date":"2030-01-01"},{"title":"","location":"x","date":"nope"},{"title":"ok2","location":"x","date":"2030-01-01","bogus":1}]"#
            )
            #expect(bad.status == .unprocessableContent)
            let items = try #require((try bad.object()["error"] as? [String: Any])?["details"] as? [[String: Any]])
            #expect(items.compactMap { $0["index"] as? Int } == [1, 2])
            #expect(try await client.send(.get, "/events").array().isEmpty)

            let good = try await client.send(
                .post, "/bulk_events",
                json: #"[{"title":"a","location":"x","date":"2030-01-01"},{"title":"b","location":"y","date":"2030-01-02"}]"#
            )
            #expect(good.status == .created)
            #expect(try good.array().compactMap { $0["id"] as? Int } == [1, 2])
            #expect(try await client.send(.post, "/bulk_events", json: "[]").status == .unprocessableContent)
            #expect(try await client.send(.post, "/bulk_events", json: "{}").status == .unprocessableContent)
        }
    }

    @Test func bulkCreateHonoursItsItemLimit() async throws {
        try await withTestApp(limits: APILimits(bulkMaxItems: 2)) { client, _ in
            let item = #"{"title":"a","location":"x","date":"2030-01-01"}"#
            let response = try await client.send(.post, "/bulk_events", json: "[\(item),\(item),\(item)]")
            #expect(response.status == .unprocessableContent)
            #expect(try response.errorMessage().contains("1 to 2 items"))
        }
    }

    @Test func bulkDeleteReportsWhatWasAndWasNotFound() async throws {
        try await withTestApp { client, _ in
            try await client.createEvent()
            try await client.createEvent()
            let response = try await client.send(.delete, "/bulk_events", json: "[2, 7, 1, 2]")
            #expect(response.status == .ok)
            let body = try response.object()
            #expect(body["deleted_ids"] as? [Int] == [2, 1])
            #expect(body["not_found"] as? [Int] == [7])
            #expect(try await client.send(.delete, "/bulk_events", json: #"[1, "x"]"#).status == .unprocessableContent)
        }
    }
}

/// A repository whose database is gone, with an error that must never reach a client.
struct FailingRepository: EventRepository, SubscriptionRepository {
    struct Broken: Error { let detail = "secret connection string" }
    func create(_ drafts: [EventDraft], owner: Int64?, now: Timestamp) async throws -> [Event] { throw Broken() }
    func find(id: Int64) async throws -> Event? { throw Broken() }
    func list(_ query: EventListQuery) async throws -> [Event] { throw Broken() }
    func update(id: Int64, now: Timestamp, change: @escaping @Sendable (Event) throws -> EventDraft) async throws -> Event {
        throw Broken()
    }
    func delete(ids: [Int64], now: Timestamp, authorize: @escaping @Sendable (Event) throws -> Void) async throws -> [Int64] {
        throw Broken()
    }
    func ping() async throws { throw Broken() }
    func subscribe(eventID: Int64, request: SubscriptionRequest, now: Timestamp) async throws -> (SubscriptionView, created: Bool) {
        throw Broken()
    }
    func subscriptions(eventID: Int64) async throws -> [SubscriptionView] { throw Broken() }
    func existing(eventID: Int64, email: EmailAddress) async throws -> SubscriptionView? { throw Broken() }
    func unsubscribe(token: String, now: Timestamp) async throws -> Bool { throw Broken() }
    func confirm(token: String, now: Timestamp) async throws -> ReminderPlanner.Confirmation? { throw Broken() }
}
