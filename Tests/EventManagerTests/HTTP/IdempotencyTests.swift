import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerHTTP
@testable import EventManagerStorage

/// `Idempotency-Key`: a retry replays the first answer and changes nothing, on both databases.
@Suite(.resources) struct IdempotencyTests {
    let event = #"{"title":"Convention","location":"Tel Aviv","date":"2030-10-27"}"#
    let key = HTTPField.Name("Idempotency-Key")!
    let replayed = HTTPField.Name("Idempotent-Replayed")!

    func count(_ client: some TestClientProtocol) async throws -> Int {
        try await client.send(.get, "/events").array().count
    }

    @Test(arguments: Backend.all) func aRetryReplaysTheFirstAnswerAndCreatesNothing(backend: Backend) async throws {
        try await withTestApp(backend: backend, authMode: .required) { client, store in
            var headers = try await apiKey(store)
            headers[key] = "create-1"
            let first = try await client.send(.post, "/events", json: event, headers: headers)
            #expect(first.status == .created)
            #expect(first.headers[replayed] == nil)
            let again = try await client.send(.post, "/events", json: event, headers: headers)
            #expect(again.status == .created)
            #expect(again.headers[replayed] == "true")
            #expect(again.body == first.body)
            for name in [HTTPField.Name.location, .eTag, .lastModified, .contentType] {
                #expect(again.headers[name] == first.headers[name], "\(name)")
            }
            #expect(try await count(client) == 1)

            // The same key with another body is a mistake, not a retry.
            let other = try await client.send(
                .post, "/events", json: #"{"title":"Other","location":"X","date":"2030-10-28"}"#, headers: headers)
            #expect(other.status == .unprocessableContent)
            #expect(try other.errorCode() == "idempotency_key_reused")
            #expect(try await client.send(.patch, "/events/1", json: event, headers: headers).status == .unprocessableContent)

            // Refusals are answers too: the retry of an invalid request gets the same refusal.
            headers[key] = "invalid-1"
            let invalid = try await client.send(.post, "/events", json: #"{"title":""}"#, headers: headers)
            #expect(invalid.status == .unprocessableContent)
            let invalidAgain = try await client.send(.post, "/events", json: #"{"title":""}"#, headers: headers)
            #expect(invalidAgain.headers[replayed] == "true")
            #expect(invalidAgain.body == invalid.body)

            // A delete retried is the same 204, not a 404.
            headers[key] = "delete-1"
            #expect(try await client.send(.delete, "/events/1", headers: headers).status == .noContent)
            let deletedAgain = try await client.send(.delete, "/events/1", headers: headers)
            #expect(deletedAgain.status == .noContent)
            #expect(deletedAgain.headers[replayed] == "true")
        }
    }

    @Test(arguments: Backend.all) func keysBelongToTheirAccountAndExpire(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(backend: backend, clock: clock, authMode: .required) { client, store in
            var alice = try await apiKey(store, name: "alice")
            var bob = try await apiKey(store, name: "bob")
            alice[key] = "same"
            bob[key] = "same"
            #expect(try await client.send(.post, "/events", json: event, headers: alice).status == .created)
            let bobs = try await client.send(.post, "/events", json: event, headers: bob)
            #expect(bobs.status == .created)
            #expect(bobs.headers[replayed] == nil)
            #expect(try await count(client) == 2)
            // Kept for idempotency.ttl_hours (24), then the key is new again.
            clock.advance(milliseconds: 23 * 3_600_000)
            #expect(try await client.send(.post, "/events", json: event, headers: alice).headers[replayed] == "true")
            clock.advance(milliseconds: 2 * 3_600_000)
            let later = try await client.send(.post, "/events", json: event, headers: alice)
            #expect(later.status == .created)
            #expect(later.headers[replayed] == nil)
            #expect(try await count(client) == 3)
        }
    }

    /// While the first request runs, a retry gets 409; once its lock runs out (it died before
    /// committing), the retry runs it.
    @Test(arguments: Backend.all) func aRunningRequestHoldsItsKeyUntilItsLockRunsOut(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(backend: backend, clock: clock, authMode: .required) { client, store in
            var headers = try await apiKey(store)
            headers[key] = "busy"
            let running = IdempotentRequest(scope: "account:1", key: "busy", method: "POST", target: "/events", body: Array(event.utf8))
            let claim = try await SQLIdempotencyStore(store: store).claim(
                running, now: clock.now(), lockMilliseconds: 30_000, expiresAt: clock.now().adding(milliseconds: 86_400_000))
            #expect(claim == .claimed)
            let busy = try await client.send(.post, "/events", json: event, headers: headers)
            #expect(busy.status == .conflict)
            #expect(try busy.errorCode() == "idempotency_key_in_use")
            #expect(busy.headers[.retryAfter] == "1")
            clock.advance(milliseconds: 30_000)
            #expect(try await client.send(.post, "/events", json: event, headers: headers).status == .created)
            #expect(try await count(client) == 1)
        }
    }

    /// The answer of an event write is recorded in the write's own transaction: even when the
    /// step after it records nothing, the retry replays instead of creating again.
    @Test(arguments: Backend.all) func theAnswerIsRecordedWithTheWrite(backend: Backend) async throws {
        let database = try await TemporaryDatabase.make(backend: backend)
        let store = try await database.open()
        let dependencies = APIDependencies(
            events: SQLEventRepository(store: store), subscriptions: SQLSubscriptionStore(store: store, settings: ReminderSettings()),
            accounts: nil, idempotency: ForgetfulStore(base: SQLIdempotencyStore(store: store)),
            limiters: RateLimiters(settings: .disabled),
            clock: ManualClock())
        let router = buildRouter(dependencies, settings: RouterSettings(), logger: quietLogger())
        try await Application(router: router, logger: quietLogger()).test(.router) { client async throws in
            for _ in 0..<2 {
                #expect(try await client.send(.post, "/events", json: event, headers: [key: "atomic"]).status == .created)
                #expect(try await client.send(.put, "/events/1", json: event, headers: [key: "put"]).status == .ok)
                let subscribe = try await client.send(
                    .post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#, headers: [key: "subscribe"])
                #expect(subscribe.status == .created)
            }
            #expect(try await count(client) == 1)
            #expect(try await client.send(.get, "/events/1").headers[.eTag] == "\"r1\"")
        }
    }

    /// A key never hides what the route itself answers first: 401 without an API key where one
    /// is needed, 405 for a method the path does not serve. Public routes take an anonymous
    /// caller's key, scoped to its address.
    @Test(arguments: Backend.all) func routesAnswerTheirOwnRefusalsFirst(backend: Backend) async throws {
        try await withTestApp(backend: backend, authMode: .required) { client, store in
            var owner = try await apiKey(store)
            owner[key] = "k"
            #expect(try await client.send(.post, "/events", json: event, headers: owner).status == .created)
            let anonymous = try await client.send(.post, "/events", json: event, headers: [key: "k"])
            #expect(anonymous.status == .unauthorized)
            let wrongMethod = try await client.send(.put, "/accounts", json: event, headers: owner)
            #expect(wrongMethod.status == .methodNotAllowed)
            let changes = try await client.send(.delete, "/events/changes", headers: owner)
            #expect(changes.status == .methodNotAllowed)
            #expect(changes.headers[.allow] == "GET, HEAD")

            let subscribe = #"{"email":"a@example.com"}"#
            let first = try await client.send(.post, "/events/1/subscriptions", json: subscribe, headers: [key: "s"])
            #expect(first.status == .created)
            let again = try await client.send(.post, "/events/1/subscriptions", json: subscribe, headers: [key: "s"])
            #expect(again.status == .created)
            #expect(again.headers[replayed] == "true")
            #expect(again.body == first.body)
        }
    }

    @Test func badKeysAreRefused() async throws {
        try await withTestApp { client, _ in
            for bad in ["", "has space", String(repeating: "k", count: 256), "naïve"] {
                let response = try await client.send(.post, "/events", json: event, headers: [key: bad])
                #expect(response.status == .badRequest, "\(bad)")
                #expect(try response.errorCode() == "invalid_idempotency_key")
            }
            #expect(try await count(client) == 0)
        }
    }
}

/// Claims and replays, but never records an answer after the fact.
struct ForgetfulStore: IdempotencyStore {
    let base: SQLIdempotencyStore

    func claim(_ request: IdempotentRequest, now: Timestamp, lockMilliseconds: Int64, expiresAt: Timestamp) async throws
        -> IdempotencyClaim
    {
        try await base.claim(request, now: now, lockMilliseconds: lockMilliseconds, expiresAt: expiresAt)
    }

    func complete(scope: String, key: String, response: StoredResponse) async throws {}
    func release(scope: String, key: String) async throws {}
    func purge(now: Timestamp, limit: Int) async throws -> Int { 0 }
}
