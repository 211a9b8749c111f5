import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

@Suite(.resources) struct EventRoutesTests {
    @Test(arguments: Backend.all) func createReadUpdateDelete(backend: Backend) async throws {
        let clock = ManualClock("2026-03-01T10:00:00Z")
        try await withTestApp(backend: backend, clock: clock) { client, _ in
            let created = try await client.send(
                .post, "/events",
                json: #"{"title":"Convention-3","location":"Bat Yam","date":"2027-10-27","timezone":"Asia/Jerusalem","popularity":1000}"#
            )
            #expect(created.status == .created)
            #expect(created.headers[.location] == "/events/1")
            #expect(created.headers[.contentType] == "application/json")
            let event = try created.object()
            #expect(event["date"] as? String == "2027-10-26T21:00:00Z")
            #expect(event["created_at"] as? String == "2026-03-01T10:00:00Z")

            let read = try await client.send(.get, "/events/1")
            #expect(read.status == .ok)
            #expect(try read.object()["title"] as? String == "Convention-3")

            clock.advance(milliseconds: 60_000)
            let replaced = try await client.send(
                .put, "/events/1", json: #"{"id":1,"title":"Renamed","location":"Haifa","date":"2027-11-01T18:00:00+02:00"}"#
            )
            #expect(replaced.status == .ok)
            let body = try replaced.object()
            #expect(body["title"] as? String == "Renamed")
            #expect(body["popularity"] as? Int == 0)
            #expect(body["timezone"] as? String == "UTC")
            #expect(body["date"] as? String == "2027-11-01T16:00:00Z")
            #expect(body["created_at"] as? String == "2026-03-01T10:00:00Z")
            #expect(body["updated_at"] as? String == "2026-03-01T10:01:00Z")

            let patched = try await client.send(
                .patch, "/events/1", json: #"{"popularity":5}"#, contentType: "application/merge-patch+json")
            #expect(patched.status == .ok)
            #expect(try patched.object()["popularity"] as? Int == 5)
            #expect(try patched.object()["title"] as? String == "Renamed")

            #expect(try await client.send(.delete, "/events/1").status == .noContent)
            #expect(try await client.send(.get, "/events/1").status == .notFound)
            #expect(try await client.send(.delete, "/events/1").status == .notFound)
            #expect(
                try await client.send(.put, "/events/1", json: #"{"title":"a","location":"b","date":"2030-01-01"}"#).status == .notFound)
            #expect(try await client.send(.patch, "/events/1", json: #"{"title":"a"}"#).status == .notFound)
        }
    }

    @Test(arguments: Backend.all) func idsAreNeverReusedAfterADelete(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            try await client.createEvent()
            try await client.createEvent()
            #expect(try await client.send(.delete, "/events/2").status == .noContent)
            let third = try await client.createEvent()
            #expect(third["id"] as? Int == 3)
        }
    }

    @Test(arguments: Backend.all) func unknownEventAndBadIdAre404WithJSON(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            let missing = try await client.send(.get, "/events/99")
            #expect(missing.status == .notFound)
            #expect(try missing.errorCode() == "event_not_found")
            #expect(try await client.send(.get, "/events/abc").status == .notFound)
            #expect(try await client.send(.get, "/events/-1").status == .notFound)
        }
    }

    @Test(arguments: Backend.all) func seedFormsStillWork(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            try await client.createEvent(title: "One")
            try await client.createEvent(title: "Two")
            let filtered = try await client.send(.get, "/events?id=2")
            #expect(filtered.status == .ok)
            #expect(try filtered.array().map { $0["title"] as? String } == ["Two"])
            #expect(try await client.send(.get, "/events?id=9").array().isEmpty)

            let byQuery = try await client.send(.put, "/events?id=1", json: #"{"title":"Uno","location":"x","date":"2030-01-01"}"#)
            #expect(byQuery.status == .ok)
            #expect(try byQuery.object()["title"] as? String == "Uno")
            let byBody = try await client.send(.put, "/events", json: #"{"id":2,"title":"Dos","location":"x","date":"2030-01-01"}"#)
            #expect(byBody.status == .ok)
            #expect(try byBody.object()["title"] as? String == "Dos")
            let noID = try await client.send(.put, "/events", json: #"{"title":"Dos","location":"x","date":"2030-01-01"}"#)
            #expect(noID.status == .unprocessableContent)
            let conflicting = try await client.send(
                .put, "/events?id=1", json: #"{"id":2,"title":"Dos","location":"x","date":"2030-01-01"}"#)
            #expect(conflicting.status == .unprocessableContent)

            #expect(try await client.send(.delete, "/events?id=1").status == .noContent)
            #expect(try await client.send(.delete, "/events?id=1").status == .notFound)
            #expect(try await client.send(.delete, "/events").status == .badRequest)
        }
    }

    @Test(arguments: Backend.all) func readOnlyFieldsAreIgnoredWhenUnchangedAndRejectedOtherwise(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            let event = try await client.createEvent()
            let createdAt = try #require(event["created_at"] as? String)
            let same = try await client.send(
                .put, "/events/1", json: #"{"id":1,"created_at":"\#(createdAt)","title":"a","location":"b","date":"2030-01-01"}"#)
            #expect(same.status == .ok)
            let changed = try await client.send(.patch, "/events/1", json: #"{"created_at":"2001-01-01T00:00:00Z"}"#)
            #expect(changed.status == .unprocessableContent)
            let onCreate = try await client.send(.post, "/events", json: #"{"id":7,"title":"a","location":"b","date":"2030-01-01"}"#)
            #expect(onCreate.status == .unprocessableContent)
        }
    }

    @Test(arguments: Backend.all) func changingTheZoneOfACalendarDayEventMovesItsStart(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            try await client.createEvent(date: "2030-06-01")
            let patched = try await client.send(.patch, "/events/1", json: #"{"timezone":"America/New_York"}"#)
            #expect(try patched.object()["date"] as? String == "2030-06-01T04:00:00Z")
            try await client.createEvent(date: "2030-06-01T10:00:00Z")
            let instant = try await client.send(.patch, "/events/2", json: #"{"timezone":"America/New_York"}"#)
            #expect(try instant.object()["date"] as? String == "2030-06-01T10:00:00Z")
        }
    }

    @Test(arguments: Backend.all) func validationNamesEveryField(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            let response = try await client.send(
                .post, "/events", json: #"{"title":"  ","date":"2023-02-30","popularity":"abc","extra":1}"#)
            #expect(response.status == .unprocessableContent)
            let error = try #require(try response.object()["error"] as? [String: Any])
            #expect(error["code"] as? String == "validation_failed")
            let fields = try #require(error["details"] as? [[String: Any]]).compactMap { $0["field"] as? String }
            #expect(Set(fields) == ["title", "location", "date", "popularity", "extra"])
        }
    }
}
