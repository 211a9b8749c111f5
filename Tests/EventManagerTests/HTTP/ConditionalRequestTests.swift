import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import EventManager
@testable import EventManagerCore

/// RFC 9110 conditional requests: ETag and Last-Modified on events and pages, 304 for a client
/// whose copy is current, 412 for a change made against an old copy.
@Suite(.resources) struct ConditionalRequestTests {
    let event = #"{"title":"Convention","location":"Tel Aviv","date":"2030-10-27"}"#

    @Test(arguments: Backend.all) func anEventIsTaggedByRevisionAndRevalidated(backend: Backend) async throws {
        let clock = ManualClock("2026-03-01T10:00:00Z")
        try await withTestApp(backend: backend, clock: clock) { client, _ in
            let created = try await client.send(.post, "/events", json: event)
            #expect(created.headers[.eTag] == "\"r0\"")
            #expect(created.headers[.lastModified] == "Sun, 01 Mar 2026 10:00:00 GMT")
            let read = try await client.send(.get, "/events/1")
            #expect(read.headers[.eTag] == "\"r0\"")

            for (name, value) in [
                (HTTPField.Name.ifNoneMatch, "\"r0\""), (.ifNoneMatch, "W/\"r0\""), (.ifNoneMatch, "\"x\", \"r0\""), (.ifNoneMatch, "*"),
                (.ifModifiedSince, "Sun, 01 Mar 2026 10:00:00 GMT"), (.ifModifiedSince, "Mon, 02 Mar 2026 00:00:00 GMT"),
            ] {
                let response = try await client.send(.get, "/events/1", headers: [name: value])
                #expect(response.status == .notModified, "\(name): \(value)")
                #expect(response.body.readableBytes == 0)
                #expect(response.headers[.eTag] == "\"r0\"")
            }
            for (name, value) in [
                (HTTPField.Name.ifNoneMatch, "\"r1\""), (.ifModifiedSince, "Sun, 01 Mar 2026 09:59:59 GMT"),
                (.ifModifiedSince, "yesterday"),
            ] {
                #expect(try await client.send(.get, "/events/1", headers: [name: value]).status == .ok, "\(name): \(value)")
            }
            // If-None-Match decides when both are sent (RFC 9110 §13.2.2).
            let both: HTTPFields = [.ifNoneMatch: "\"r9\"", .ifModifiedSince: "Mon, 02 Mar 2026 00:00:00 GMT"]
            #expect(try await client.send(.get, "/events/1", headers: both).status == .ok)

            clock.advance(milliseconds: 1500)
            let patched = try await client.send(
                .patch, "/events/1", json: #"{"popularity":5}"#, headers: [.ifMatch: "\"r0\""])
            #expect(patched.status == .ok)
            #expect(patched.headers[.eTag] == "\"r1\"")
            #expect(patched.headers[.lastModified] == "Sun, 01 Mar 2026 10:00:01 GMT")
            #expect(try await client.send(.get, "/events/1", headers: [.ifNoneMatch: "\"r0\""]).status == .ok)

            // A change against the old revision is refused and changes nothing.
            let stale = try await client.send(.put, "/events/1", json: event, headers: [.ifMatch: "\"r0\""])
            #expect(stale.status == .preconditionFailed)
            #expect(try stale.errorCode() == "precondition_failed")
            #expect(try await client.send(.get, "/events/1").object()["popularity"] as? Int == 5)
            #expect(try await client.send(.delete, "/events/1", headers: [.ifMatch: "\"r0\""]).status == .preconditionFailed)
            #expect(try await client.send(.delete, "/events?id=1", headers: [.ifMatch: "W/\"r1\""]).status == .preconditionFailed)
            #expect(try await client.send(.patch, "/events/1", json: #"{"popularity":5}"#, headers: [.ifMatch: ""]).status == .ok)
            #expect(try await client.send(.put, "/events?id=1", json: event, headers: [.ifMatch: "\"r2\""]).status == .ok)
            #expect(try await client.send(.delete, "/events/1", headers: [.ifMatch: "*"]).status == .noContent)
        }
    }

    /// Of two clients that read the same revision and both send a change with If-Match, one
    /// wins and the other gets 412; nothing is lost silently.
    @Test(arguments: Backend.all) func twoRacingWritersOneGets412(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            #expect(try await client.send(.post, "/events", json: event).status == .created)
            for round in 0..<10 {
                let tag = try #require(try await client.send(.get, "/events/1").headers[.eTag])
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for writer in 0..<2 {
                        group.addTask {
                            let body = #"{"title":"round \#(round) writer \#(writer)","location":"Tel Aviv","date":"2030-10-27"}"#
                            return try await client.send(.put, "/events/1", json: body, headers: [.ifMatch: tag]).status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.sorted { $0.code < $1.code } == [.ok, .preconditionFailed], "round \(round)")
                #expect(try await client.send(.get, "/events/1").headers[.eTag] == "\"r\(round + 1)\"")
            }
        }
    }

    @Test(arguments: Backend.all) func pagesAreTaggedByTheirContent(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            try await client.createEvent()
            let page = try await client.send(.get, "/events?sort=-date")
            let tag = try #require(page.headers[.eTag])
            #expect(tag.hasPrefix("\"") && tag.count == 18)
            let again = try await client.send(.get, "/events?sort=-date", headers: [.ifNoneMatch: tag])
            #expect(again.status == .notModified)
            #expect(again.headers[.eTag] == tag)
            try await client.createEvent(title: "Second")
            let changed = try await client.send(.get, "/events?sort=-date", headers: [.ifNoneMatch: tag])
            #expect(changed.status == .ok)
            #expect(changed.headers[.eTag] != tag)
            #expect(try changed.array().count == 2)
        }
    }

    @Test func httpDatesRoundTrip() throws {
        let instant = try #require(Timestamp.httpDate("Sun, 06 Nov 1994 08:49:37 GMT"))
        #expect(instant.rfc3339 == "1994-11-06T08:49:37Z")
        #expect(CivilTime(instant).httpDate == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(CivilTime(Timestamp(millisecondsSinceEpoch: 1_999)).httpDate == "Thu, 01 Jan 1970 00:00:01 GMT")
        for bad in ["Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:49:37 GMT", ""] {
            #expect(Timestamp.httpDate(bad) == nil, "\(bad)")
        }
    }
}
