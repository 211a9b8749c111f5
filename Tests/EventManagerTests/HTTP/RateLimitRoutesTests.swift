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

@Suite(.resources) struct RateLimitRoutesTests {
    func settings(_ configure: (inout RateLimitSettings) -> Void) -> RateLimitSettings {
        var settings = RateLimitSettings()
        configure(&settings)
        return settings
    }

    @Test(arguments: Backend.all) func writesTripAtTheConfiguredCountWithStandardHeadersAndRecover(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        let limits = settings { $0.write = [RateLimit("2 per minute")!] }
        try await withTestApp(backend: backend, clock: clock, rateLimits: limits) { client, _ in
            let first = try await client.createEventResponse()
            #expect(first.status == .created)
            #expect(first.headers[HTTPField.Name("RateLimit-Policy")!] == #""write-60";q=2;w=60"#)
            #expect(first.headers[HTTPField.Name("RateLimit")!] == #""write-60";r=1;t=30"#)
            #expect(try await client.createEventResponse().status == .created)
            let refused = try await client.createEventResponse()
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] == "30")
            #expect(try refused.errorCode() == "rate_limited")
            #expect(refused.headers[HTTPField.Name("RateLimit")!] == #""write-60";r=0;t=60"#)
            // Reads have their own budget.
            let read = try await client.send(.get, "/events")
            #expect(read.status == .ok)
            #expect(read.headers[HTTPField.Name("RateLimit-Policy")!] == #""read-60";q=1200;w=60"#)
            clock.advance(milliseconds: 30_000)
            #expect(try await client.createEventResponse().status == .created)
            #expect(try await client.send(.get, "/health").headers[HTTPField.Name("RateLimit")!] == nil, "health checks are not limited")
        }
    }

    @Test(arguments: Backend.all) func oneInboxCannotBeFlooded(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        let limits = settings { $0.subscribePerEmail = [RateLimit("2 per hour")!] }
        try await withTestApp(backend: backend, clock: clock, rateLimits: limits) { client, _ in
            for _ in 0..<3 { try await client.createEvent(date: "2030-06-01") }
            #expect(try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"victim@example.com"}"#).status == .created)
            #expect(try await client.send(.post, "/events/2/subscriptions", json: #"{"email":"Victim@example.com"}"#).status == .created)
            let refused = try await client.send(.post, "/subscribe", json: #"{"event_id":3,"email":"victim@example.com"}"#)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] == "1800")
            #expect(try await client.send(.post, "/events/3/subscriptions", json: #"{"email":"other@example.com"}"#).status == .created)
        }
    }

    /// The refusal describes the per-address limit, not the client's subscribe budget; asking
    /// again for an existing subscription answers 200 and costs nothing; `+tags` share one inbox.
    @Test(arguments: Backend.all) func theInboxLimitIsDescribedAndRepeatsAreFree(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        let limits = settings { $0.subscribePerEmail = [RateLimit("2 per hour")!] }
        try await withTestApp(backend: backend, clock: clock, rateLimits: limits) { client, _ in
            for _ in 0..<4 { try await client.createEvent(date: "2030-06-01") }
            #expect(try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"dave+1@example.com"}"#).status == .created)
            for _ in 0..<3 {
                let again = try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"dave+1@example.com"}"#)
                #expect(again.status == .ok, "the existing subscription, not a 429")
            }
            #expect(try await client.send(.post, "/events/2/subscriptions", json: #"{"email":"dave+2@example.com"}"#).status == .created)
            let refused = try await client.send(.post, "/events/3/subscriptions", json: #"{"email":"Dave+3@example.com"}"#)
            #expect(refused.status == .tooManyRequests, "sub-addresses share the inbox's budget")
            #expect(refused.headers[HTTPField.Name("RateLimit-Policy")!] == #""email-3600";q=2;w=3600"#)
            #expect(refused.headers[HTTPField.Name("RateLimit")!] == #""email-3600";r=0;t=3600"#)
            #expect(refused.headers[.retryAfter] == "1800")
            // With the budget spent, asking again is still answered with the subscription.
            let again = try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"DAVE+1@example.com"}"#)
            #expect(again.status == .ok)
            #expect(try again.object()["email"] as? String == "dave+1@example.com")
        }
    }

    @Test(arguments: Backend.all) func oneEventCannotBeFlooded(backend: Backend) async throws {
        let limits = settings { $0.subscribePerEvent = [RateLimit("2 per hour")!] }
        try await withTestApp(backend: backend, clock: ManualClock("2030-01-01T10:00:00Z"), rateLimits: limits) { client, _ in
            try await client.createEvent(date: "2030-06-01")
            for index in 0..<2 {
                #expect(
                    try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"u\#(index)@example.com"}"#).status == .created
                )
            }
            #expect(
                try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"u9@example.com"}"#).status == .tooManyRequests)
        }
    }

    /// A subscription refused by its event's limit costs the address nothing: the address's
    /// count is given back.
    @Test func aRefusalByTheEventCostsTheAddressNothing() async throws {
        let limits = settings {
            $0.subscribePerEmail = [RateLimit("2 per hour")!]
            $0.subscribePerEvent = [RateLimit("1 per hour")!]
        }
        try await withTestApp(clock: ManualClock("2030-01-01T10:00:00Z"), rateLimits: limits) { client, _ in
            for _ in 0..<4 { try await client.createEvent(date: "2030-06-01") }
            #expect(try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"first@example.com"}"#).status == .created)
            let refused = try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"carol@example.com"}"#)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[HTTPField.Name("RateLimit")!]?.hasPrefix(#""event-"#) == true)
            #expect(try await client.send(.post, "/events/2/subscriptions", json: #"{"email":"carol@example.com"}"#).status == .created)
            #expect(try await client.send(.post, "/events/3/subscriptions", json: #"{"email":"carol@example.com"}"#).status == .created)
            let spent = try await client.send(.post, "/events/4/subscriptions", json: #"{"email":"carol@example.com"}"#)
            #expect(spent.status == .tooManyRequests, "two subscriptions spend the address's budget")
            #expect(spent.headers[HTTPField.Name("RateLimit")!]?.hasPrefix(#""email-"#) == true)
        }
    }

    @Test(arguments: Backend.all) func disabledMeansNoLimitsAndNoHeaders(backend: Backend) async throws {
        try await withTestApp(backend: backend, rateLimits: .disabled) { client, _ in
            let response = try await client.send(.get, "/events")
            #expect(response.headers[HTTPField.Name("RateLimit")!] == nil)
        }
    }
}

extension TestClientProtocol {
    func createEventResponse() async throws -> TestResponse {
        try await send(.post, "/events", json: #"{"title":"t","location":"l","date":"2030-06-01"}"#)
    }
}

/// Over a real socket the peer address is known: forwarded addresses count only from trusted proxies.
/// A limiter that cannot answer, like a shared one whose database is down.
struct UnavailableLimiter: RateLimiting {
    let limits = [RateLimit("1 per hour")!]
    func check(_ key: String, now: Timestamp) async throws -> RateLimitDecision {
        throw StorageError.closed
    }
    func knownRefusal(_ key: String, now: Timestamp) -> RateLimitDecision? { nil }
    func refund(_ key: String, now: Timestamp) {}
}

@Suite(.resources) struct RateLimiterOutageTests {
    /// Refusing every client because the limiter's store is down would turn its outage into ours.
    @Test func anUnavailableLimiterLetsRequestsThrough() async {
        let limiters = RateLimiters(settings: RateLimitSettings()) { _, _ in UnavailableLimiter() }
        for _ in 0..<3 {
            let decision = await limiters.check(limiters.write, "client", now: ManualClock().now())
            #expect(decision.allowed)
        }
    }
}

@Suite(.resources, .timeLimit(.minutes(2))) struct RateLimitLiveTests {
    func limits(trusted: Set<String>) -> RateLimitSettings {
        var limits = RateLimitSettings()
        limits.write = [RateLimit("1 per minute")!]
        limits.trustedProxies = trusted
        return limits
    }

    /// Creates an event as if forwarded for `address` and checks the answer's status.
    func expectStatus(_ client: any TestClientProtocol, from address: String, _ expected: HTTPResponse.Status) async throws {
        let response = try await client.send(
            .post, "/events", json: #"{"title":"t","location":"l","date":"2030-06-01"}"#,
            headers: [HTTPField.Name("X-Forwarded-For")!: address]
        )
        #expect(response.status == expected, "forwarded for \(address)")
    }

    @Test(arguments: Backend.all) func forwardedForIsIgnoredFromAnUntrustedPeer(backend: Backend) async throws {
        try await withTestApp(backend: backend, rateLimits: limits(trusted: []), setup: .live) { client, _ in
            try await expectStatus(client, from: "198.51.100.1", .created)
            try await expectStatus(client, from: "198.51.100.2", .tooManyRequests)
        }
    }

    @Test(arguments: Backend.all) func forwardedForNamesTheClientBehindATrustedProxy(backend: Backend) async throws {
        try await withTestApp(backend: backend, rateLimits: limits(trusted: ["127.0.0.1"]), setup: .live) { client, _ in
            try await expectStatus(client, from: "198.51.100.1", .created)
            try await expectStatus(client, from: "198.51.100.2", .created)
            try await expectStatus(client, from: "198.51.100.1", .tooManyRequests)
        }
    }
}
