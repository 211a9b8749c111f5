import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

@Suite(.resources) struct AuthTests {
    func key(_ store: DatabaseStore, _ name: String, _ role: Role) async throws -> HTTPFields {
        try await apiKey(store, name: name, role: role)
    }

    let event = #"{"title":"t","location":"l","date":"2030-06-01"}"#

    @Test(arguments: Backend.all) func writesNeedAKeyAndReadsDoNot(backend: Backend) async throws {
        try await withTestApp(backend: backend, authMode: .required) { client, store in
            let anonymous = try await client.send(.post, "/events", json: event)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate] == #"Bearer realm="event-manager""#)
            let organizer = try await key(store, "org", .organizer)
            #expect(try await client.send(.post, "/events", json: event, headers: organizer).status == .created)
            #expect(try await client.send(.get, "/events/1").status == .ok)
            #expect(try await client.send(.get, "/events").status == .ok)
            #expect(try await client.send(.delete, "/events/1").status == .unauthorized)
            #expect(try await client.send(.post, "/bulk_events", json: "[\(event)]").status == .unauthorized)
            #expect(try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#).status == .created)
        }
    }

    @Test(arguments: Backend.all) func unknownMalformedAndRevokedKeysAreRefusedAlike(backend: Backend) async throws {
        let clock = ManualClock()
        try await withTestApp(backend: backend, clock: clock, authMode: .required) { client, store in
            // `store` is another process on the same database (another node, the CLI).
            let elsewhere = SQLAccountStore(store: store)
            let account = try await elsewhere.createAccount(name: "org", role: .organizer, now: .minimum)
            let (record, token) = try await elsewhere.createKey(accountID: account.id, now: .minimum)
            var wrongSecret = token
            wrongSecret.secret = String(token.secret.reversed())
            let bearer: HTTPFields = [.authorization: "Bearer \(token.text)"]
            // A key works right after creation, even after this node found it unknown.
            #expect(try await client.send(.post, "/events", json: event, headers: bearer).status == .created)
            for header in ["Bearer em_nope", "Bearer \(wrongSecret.text)", "Basic abc", "Bearer"] {
                let response = try await client.send(.post, "/events", json: event, headers: [.authorization: header])
                #expect(response.status == .unauthorized, "\(header)")
                #expect(try response.errorMessage() == "the API key is missing, unknown or revoked")
            }
            // Revoked elsewhere: this node trusts what it read for under a second, then reads again.
            #expect(try await elsewhere.revokeKey(id: record.id, now: .minimum))
            #expect(try await client.send(.post, "/events", json: event, headers: bearer).status == .created)
            clock.advance(milliseconds: VerifiedKeys.lifetimeMilliseconds)
            #expect(try await client.send(.post, "/events", json: event, headers: bearer).status == .unauthorized)

            // Revoked through this node: refused at once.
            let admin = try await key(store, "root", .admin)
            let (second, secondToken) = try await elsewhere.createKey(accountID: account.id, now: .minimum)
            let secondBearer: HTTPFields = [.authorization: "Bearer \(secondToken.text)"]
            #expect(try await client.send(.post, "/events", json: event, headers: secondBearer).status == .created)
            #expect(try await client.send(.delete, "/keys/\(second.id)", headers: admin).status == .noContent)
            #expect(try await client.send(.post, "/events", json: event, headers: secondBearer).status == .unauthorized)
        }
    }

    /// A key's use is recorded to the minute, whether this node read the key or still trusts it.
    @Test func keysRecordTheirUseToTheMinute() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock, authMode: .required) { client, store in
            let accounts = SQLAccountStore(store: store)
            let account = try await accounts.createAccount(name: "org", role: .organizer, now: .minimum)
            let (record, token) = try await accounts.createKey(accountID: account.id, now: .minimum)
            let bearer: HTTPFields = [.authorization: "Bearer \(token.text)"]
            @Sendable func lastUsed() async throws -> Timestamp? {
                try await accounts.keys(accountID: account.id).first { $0.id == record.id }?.lastUsedAt
            }
            let first = clock.now()
            #expect(try await client.send(.post, "/events", json: event, headers: bearer).status == .created)
            #expect(try await lastUsed() == first)
            clock.advance(milliseconds: 500)
            #expect(try await client.send(.post, "/events", json: event, headers: bearer).status == .created)
            clock.advance(milliseconds: 30_000)
            #expect(try await client.send(.post, "/events", json: event, headers: bearer).status == .created)
            #expect(try await lastUsed() == first, "within the minute: not written again")
            clock.advance(milliseconds: 29_500)
            let minuteLater = clock.now()
            #expect(try await client.send(.post, "/events", json: event, headers: bearer).status == .created)
            #expect(try await lastUsed() == minuteLater)
        }
    }

    @Test(arguments: Backend.all) func organizersChangeOnlyTheirOwnEventsAndAdminsAny(backend: Backend) async throws {
        try await withTestApp(backend: backend, authMode: .required) { client, store in
            let alice = try await key(store, "alice", .organizer)
            let bob = try await key(store, "bob", .organizer)
            let admin = try await key(store, "root", .admin)
            #expect(try await client.send(.post, "/events", json: event, headers: alice).status == .created)
            let forbidden = try await client.send(.patch, "/events/1", json: #"{"title":"mine now"}"#, headers: bob)
            #expect(forbidden.status == .forbidden)
            #expect(try forbidden.errorCode() == "not_owner")
            #expect(try await client.send(.delete, "/events/1", headers: bob).status == .forbidden)
            #expect(try await client.send(.delete, "/bulk_events", json: "[1]", headers: bob).status == .forbidden)
            #expect(try await client.send(.put, "/events?id=1", json: event, headers: bob).status == .forbidden)
            #expect(try await client.send(.patch, "/events/1", json: #"{"title":"alice's"}"#, headers: alice).status == .ok)
            #expect(try await client.send(.patch, "/events/1", json: #"{"title":"admin's"}"#, headers: admin).status == .ok)
            #expect(try await client.send(.get, "/events/1").object()["title"] as? String == "admin's")
            #expect(try await client.send(.delete, "/events/1", headers: admin).status == .noContent)
        }
    }

    @Test(arguments: Backend.all) func subscriberListsAreForTheOwnerAndAdmins(backend: Backend) async throws {
        try await withTestApp(backend: backend, authMode: .required) { client, store in
            let alice = try await key(store, "alice", .organizer)
            let bob = try await key(store, "bob", .organizer)
            let admin = try await key(store, "root", .admin)
            try await client.send(.post, "/events", json: event, headers: alice)
            try await client.send(.post, "/events/1/subscriptions", json: #"{"email":"a@example.com"}"#)
            #expect(try await client.send(.get, "/events/1/subscriptions").status == .unauthorized)
            #expect(try await client.send(.get, "/events/1/subscriptions", headers: bob).status == .forbidden)
            #expect(try await client.send(.get, "/events/1/subscriptions", headers: alice).array().count == 1)
            #expect(try await client.send(.get, "/events/1/subscriptions", headers: admin).status == .ok)
        }
    }

    @Test(arguments: Backend.all) func adminsManageAccountsAndKeysOverHTTP(backend: Backend) async throws {
        try await withTestApp(backend: backend, authMode: .required) { client, store in
            let admin = try await key(store, "root", .admin)
            let organizer = try await key(store, "org", .organizer)
            #expect(try await client.send(.get, "/accounts", headers: organizer).status == .forbidden)
            #expect(try await client.send(.get, "/accounts").status == .unauthorized)
            let created = try await client.send(.post, "/accounts", json: #"{"name":"carol","role":"organizer"}"#, headers: admin)
            #expect(created.status == .created)
            let carolID = try #require(try created.object()["id"] as? Int)
            #expect(
                try await client.send(.post, "/accounts", json: #"{"name":"carol","role":"organizer"}"#, headers: admin).status == .conflict
            )
            #expect(
                try await client.send(.post, "/accounts", json: #"{"name":"x","role":"king"}"#, headers: admin).status
                    == .unprocessableContent)
            let keyResponse = try await client.send(.post, "/accounts/\(carolID)/keys", headers: admin)
            #expect(keyResponse.status == .created)
            let body = try keyResponse.object()
            let carolKey = try #require(body["key"] as? String)
            #expect(carolKey.hasPrefix("em_") && carolKey.count >= 3 + 16 + 1 + 43)
            let carol: HTTPFields = [.authorization: "Bearer \(carolKey)"]
            #expect(try await client.send(.post, "/events", json: event, headers: carol).status == .created)
            let keyID = try #require(body["id"] as? Int)
            #expect(try await client.send(.delete, "/keys/\(keyID)", headers: admin).status == .noContent)
            #expect(try await client.send(.post, "/events", json: event, headers: carol).status == .unauthorized)
            #expect(try await client.send(.delete, "/keys/999", headers: admin).status == .notFound)
            let names = try await client.send(.get, "/accounts", headers: admin).array().compactMap { $0["name"] as? String }
            #expect(names == ["root", "org", "carol"])
            // Keys are stored as hashes only.
            let stored = try await store.sqlRaw("SELECT secret_hash FROM api_keys").all().map {
                try $0.decode(column: "secret_hash", as: String.self)
            }
            #expect(!stored.contains { carolKey.contains($0) })
        }
    }

    @Test(arguments: Backend.all) func disabledModeLetsAnyoneWrite(backend: Backend) async throws {
        try await withTestApp(backend: backend, authMode: .disabled) { client, _ in
            let created = try await client.send(.post, "/events", json: event)
            #expect(created.status == .created)
            #expect(try await client.send(.get, "/events/1/subscriptions").status == .ok)
        }
    }

    @Test(arguments: Backend.all) func aCallerWithAKeyIsLimitedAsItsAccount(backend: Backend) async throws {
        var limits = RateLimitSettings()
        limits.write = [RateLimit("1 per minute")!]
        try await withTestApp(backend: backend, rateLimits: limits, authMode: .required) { client, store in
            let alice = try await key(store, "alice", .organizer)
            let bob = try await key(store, "bob", .organizer)
            #expect(try await client.send(.post, "/events", json: event, headers: alice).status == .created)
            #expect(try await client.send(.post, "/events", json: event, headers: alice).status == .tooManyRequests)
            #expect(try await client.send(.post, "/events", json: event, headers: bob).status == .created)
        }
    }
}
