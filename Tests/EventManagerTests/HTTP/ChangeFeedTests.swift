import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

/// `GET /events/changes`: a client that syncs now and then ends with exactly the server's events.
@Suite(.resources, .timeLimit(.minutes(4))) struct ChangeFeedTests {
    /// What a syncing client keeps: the events by id, and where it is in the feed.
    final class Replica: @unchecked Sendable {
        var events: [Int: NSDictionary] = [:]
        var token: String?
        var pages = 0

        /// Follows the pages from the last token to the end; `between` runs after the first page.
        func sync(_ client: some TestClientProtocol, between: () async throws -> Void = {}) async throws {
            var uri = token.map { "/events/changes?since=\($0)&limit=1000" } ?? "/events/changes?limit=1000"
            var first = true
            while true {
                let response = try await client.send(.get, uri)
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                let body = try response.object()
                for event in try #require(body["changed"] as? [[String: Any]]) {
                    events[try #require(event["id"] as? Int)] = event as NSDictionary
                }
                for id in try #require(body["deleted"] as? [Int]) { events[id] = nil }
                pages += 1
                if first {
                    first = false
                    try await between()
                }
                guard let next = response.nextLink else {
                    token = try #require(body["sync_token"] as? String)
                    return
                }
                #expect(body["sync_token"] is NSNull)
                uri = next
            }
        }
    }

    func bulk(_ client: some TestClientProtocol, _ count: Int, from start: Int) async throws {
        let items = (start..<(start + count)).map { #"{"title":"Event \#($0)","location":"Hall \#($0 % 7)","date":"2031-01-01"}"# }
        #expect(try await client.send(.post, "/bulk_events", json: "[\(items.joined(separator: ","))]").status == .created)
    }

    /// Everything the server holds, read through the list.
    func serverEvents(_ client: some TestClientProtocol) async throws -> [Int: NSDictionary] {
        var events: [Int: NSDictionary] = [:]
        var uri: String? = "/events?limit=1000"
        while let next = uri {
            let response = try await client.send(.get, next)
            for event in try response.array() { events[try #require(event["id"] as? Int)] = event as NSDictionary }
            uri = response.nextLink
        }
        return events
    }

    @Test(arguments: Backend.all) func aClientSyncingThroughTenThousandChangesEndsWithTheServersState(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            let replica = Replica()
            for batch in 0..<4 { try await bulk(client, 1000, from: batch * 1000) }  // 4,000 creations
            // Changes while the client is between pages: one it has seen, one it has not.
            try await replica.sync(client) { () async throws in
                #expect(try await client.send(.patch, "/events/1", json: #"{"title":"Changed mid-sync"}"#).status == .ok)
                #expect(try await client.send(.delete, "/events/3999").status == .noContent)
            }
            #expect(replica.events.count == 3999)
            #expect(replica.events[1]?["title"] as? String == "Changed mid-sync")
            for id in 2...2001 {  // 2,000 changes
                #expect(try await client.send(.patch, "/events/\(id)", json: #"{"popularity":\#(id)}"#).status == .ok)
                if id == 1000 { try await replica.sync(client) }
            }
            for start in stride(from: 2002, to: 4002, by: 1000) {  // 2,000 deletions
                let ids = (start..<(start + 1000)).map(String.init).joined(separator: ",")
                #expect(try await client.send(.delete, "/bulk_events", json: "[\(ids)]").status == .ok)
            }
            try await bulk(client, 1000, from: 5000)  // 2,000 more creations
            try await bulk(client, 1000, from: 6000)
            try await replica.sync(client)

            let server = try await serverEvents(client)
            #expect(replica.events.count == server.count)
            #expect(Set(replica.events.keys) == Set(server.keys))
            #expect(server.allSatisfy { replica.events[$0.key] == $0.value })
            #expect(replica.pages >= 11)

            // Up to date: the token answers nothing new, and itself again.
            let nothing = try await client.send(.get, "/events/changes?since=\(try #require(replica.token))").object()
            #expect((nothing["changed"] as? [Any])?.isEmpty == true)
            #expect((nothing["deleted"] as? [Any])?.isEmpty == true)
            #expect(nothing["sync_token"] as? String == replica.token)
        }
    }

    @Test(arguments: Backend.all) func anExpiredTokenIsGoneAndBadInputIsRefused(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        try await withTestApp(backend: backend, clock: clock) { client, store in
            try await client.createEvent()
            try await client.createEvent(title: "Second")
            let token = try #require(try await client.send(.get, "/events/changes").object()["sync_token"] as? String)
            #expect(try await client.send(.delete, "/events/1").status == .noContent)
            let deleted = try await client.send(.get, "/events/changes?since=\(token)").object()
            #expect(deleted["deleted"] as? [Int] == [1])

            // Thirty days on the tombstone is purged: the old token would miss the deletion.
            clock.advance(milliseconds: 31 * 86_400_000)
            let purged = try await SQLEventRepository(store: store).purgeTombstones(
                deletedBefore: clock.now().adding(milliseconds: -30 * 86_400_000), limit: 1000)
            #expect(purged == 1)
            let gone = try await client.send(.get, "/events/changes?since=\(token)")
            #expect(gone.status == .gone)
            #expect(try gone.errorCode() == "sync_token_expired")
            let fresh = try await client.send(.get, "/events/changes").object()
            #expect((fresh["changed"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [2])

            for (uri, code) in [
                ("/events/changes?since=abc", "invalid_sync_token"), ("/events/changes?since=v1.-1", "invalid_sync_token"),
                ("/events/changes?limit=0", "invalid_parameter"), ("/events/changes?after=1", "unknown_parameter"),
            ] {
                let response = try await client.send(.get, uri)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(try response.errorCode() == code, "\(uri)")
            }
        }
    }
}
