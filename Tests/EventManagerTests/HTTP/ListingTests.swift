import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

@Suite(.resources) struct ListingTests {
    func titles(_ response: TestResponse) throws -> [String] {
        try response.array().compactMap { $0["title"] as? String }
    }

    @Test(arguments: Backend.all) func filtersCombine(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            try await client.createEvent(title: "Swift Conf", location: "Tel Aviv", date: "2030-01-10", popularity: 10)
            try await client.createEvent(title: "Rust Conf", location: "Tel Aviv", date: "2030-01-20", popularity: 50)
            try await client.createEvent(title: "Go Meetup", location: "Haifa", date: "2030-02-01", popularity: 50)
            try await client.createEvent(title: "Kotlin", location: "Conference Hall", date: "2030-01-15", popularity: 5)

            #expect(try titles(await client.send(.get, "/events?location=Tel%20Aviv")) == ["Swift Conf", "Rust Conf"])
            #expect(try titles(await client.send(.get, "/events?title=Go+Meetup")) == ["Go Meetup"])
            #expect(try titles(await client.send(.get, "/events?q=CONF")) == ["Swift Conf", "Rust Conf", "Kotlin"])
            #expect(try titles(await client.send(.get, "/events?q=conf&min_popularity=10")) == ["Swift Conf", "Rust Conf"])
            #expect(try titles(await client.send(.get, "/events?popularity=50&location=Haifa")) == ["Go Meetup"])
            #expect(
                try titles(await client.send(.get, "/events?start_date=2030-01-10&end_date=2030-01-20")) == [
                    "Swift Conf", "Rust Conf", "Kotlin",
                ])
            #expect(try titles(await client.send(.get, "/events?end_date=2030-01-15T00:00:00Z")) == ["Swift Conf", "Kotlin"])
            #expect(try titles(await client.send(.get, "/events?max_popularity=10&q=o")) == ["Swift Conf", "Kotlin"])
            #expect(try titles(await client.send(.get, "/events?q=100%25")).isEmpty)
        }
    }

    /// Pages are reused only while the events stay the same: every kind of write shows at once.
    @Test(arguments: Backend.all) func listsFollowEveryWriteAtOnce(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            let first = try await client.createEvent(title: "First", date: "2030-01-01")
            let id = try #require(first["id"] as? Int)
            let page = "/events?sort=date&limit=10"
            #expect(try titles(await client.send(.get, page)) == ["First"])
            #expect(try titles(await client.send(.get, page)) == ["First"], "asked twice, the same answer")
            try await client.createEvent(title: "Second", date: "2030-02-01")
            #expect(try titles(await client.send(.get, page)) == ["First", "Second"])
            _ = try await client.send(.patch, "/events/\(id)", json: #"{"title":"Renamed","date":"2030-03-01"}"#)
            #expect(try titles(await client.send(.get, page)) == ["Second", "Renamed"])
            _ = try await client.send(.delete, "/events/\(id)")
            #expect(try titles(await client.send(.get, page)) == ["Second"])
            #expect(try titles(await client.send(.get, "/events?id=\(id)")).isEmpty)
            _ = try await client.send(.post, "/bulk_events", json: #"[{"title":"Third","location":"X","date":"2030-04-01"}]"#)
            #expect(try titles(await client.send(.get, page)) == ["Second", "Third"])
        }
    }

    /// On PostgreSQL a node reuses a page while the events' change counter stays put, and a
    /// write through another node shows at once.
    @Test(.enabled(if: Backend.postgresURL != nil, "needs EVENT_MANAGER_TEST_POSTGRES_URL"))
    func pagesOnPostgresFollowWritesOfOtherNodes() async throws {
        try await withTestApp(backend: .postgres) { client, otherNode in
            let first = try await client.createEvent(title: "First", date: "2030-01-01")
            let id = try #require(first["id"] as? Int)
            let page = "/events?sort=date&limit=10"
            #expect(try titles(await client.send(.get, page)) == ["First"])
            // A change that bypasses the counter (no code of ours does this) proves the page is reused.
            try await otherNode.write { try await $0.raw("UPDATE events SET title = 'Unseen' WHERE id = \(bind: id)").run() }
            #expect(try titles(await client.send(.get, page)) == ["First"], "reused while the counter stays put")
            let events = SQLEventRepository(store: otherNode)
            let draft = EventDraft(title: "Second", location: "There", date: DateInput.parse("2030-02-01")!)
            _ = try await events.create([draft], owner: nil, now: Timestamp(millisecondsSinceEpoch: 1))
            #expect(try titles(await client.send(.get, page)) == ["Unseen", "Second"], "another node's write shows at once")
            _ = try await events.delete(ids: [Int64(id)], now: Timestamp(millisecondsSinceEpoch: 2))
            #expect(try titles(await client.send(.get, page)) == ["Second"])
        }
    }

    /// On PostgreSQL a node reuses an event it read while the change counter stays put, and an
    /// update through another node shows at once.
    @Test(.enabled(if: Backend.postgresURL != nil, "needs EVENT_MANAGER_TEST_POSTGRES_URL"))
    func eventsOnPostgresFollowWritesOfOtherNodes() async throws {
        try await withTestApp(backend: .postgres) { client, otherNode in
            let created = try await client.createEvent(title: "First", date: "2030-01-01")
            let id = try #require(created["id"] as? Int)
            #expect(try await client.send(.get, "/events/\(id)").object()["title"] as? String == "First")
            try await otherNode.write { try await $0.raw("UPDATE events SET title = 'Unseen' WHERE id = \(bind: id)").run() }
            #expect(try await client.send(.get, "/events/\(id)").object()["title"] as? String == "First", "reused")
            let events = SQLEventRepository(store: otherNode)
            _ = try await events.update(id: Int64(id), now: Timestamp(millisecondsSinceEpoch: 1)) { event in
                EventDraft(title: "Renamed", location: event.location, date: .instant(event.startsAt))
            }
            #expect(try await client.send(.get, "/events/\(id)").object()["title"] as? String == "Renamed")
            _ = try await events.delete(ids: [Int64(id)], now: Timestamp(millisecondsSinceEpoch: 2))
            #expect(try await client.send(.get, "/events/\(id)").status == .notFound)
            // An event first read after the counter moved is kept under an older value, never a newer one.
            let draft = EventDraft(title: "Other", location: "There", date: DateInput.parse("2030-02-01")!)
            let other = try #require(try await events.create([draft], owner: nil, now: Timestamp(millisecondsSinceEpoch: 3)).first)
            #expect(try await client.send(.get, "/events/\(other.id)").object()["title"] as? String == "Other")
            _ = try await events.update(id: other.id, now: Timestamp(millisecondsSinceEpoch: 4)) { event in
                EventDraft(title: "Other, renamed", location: event.location, date: .instant(event.startsAt))
            }
            #expect(try await client.send(.get, "/events/\(other.id)").object()["title"] as? String == "Other, renamed")
        }
    }

    @Test(arguments: Backend.all) func sortsWithTiesBrokenById(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            try await client.createEvent(title: "A", date: "2030-03-01", popularity: 5)
            try await client.createEvent(title: "B", date: "2030-01-01", popularity: 9)
            try await client.createEvent(title: "C", date: "2030-03-01", popularity: 5)
            #expect(try titles(await client.send(.get, "/events")) == ["A", "B", "C"])
            #expect(try titles(await client.send(.get, "/events?sort=date")) == ["B", "A", "C"])
            #expect(try titles(await client.send(.get, "/events?sort=-date")) == ["C", "A", "B"])
            #expect(try titles(await client.send(.get, "/events?sort=popularity")) == ["A", "C", "B"])
            #expect(try titles(await client.send(.get, "/events?sort=-creation_time")) == ["C", "B", "A"])
            #expect(try titles(await client.send(.get, "/sort_by/popularity")) == ["B", "C", "A"])
            #expect(try titles(await client.send(.get, "/sort_by/date")) == ["C", "A", "B"])
            #expect(try titles(await client.send(.get, "/sort_by/creation_time")) == ["C", "B", "A"])
            let bad = try await client.send(.get, "/sort_by/title")
            #expect(bad.status == .badRequest)
            let details = try #require((try bad.object()["error"] as? [String: Any])?["details"] as? [String: Any])
            #expect(details["valid_values"] as? [String] == ["creation_time", "date", "popularity"])
        }
    }

    @Test(arguments: Backend.all) func keysetPagesStayStableWhileRowsAreInserted(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            for index in 0..<7 {
                try await client.createEvent(title: "E\(index)", date: "2030-01-0\(index % 3 + 1)")
            }
            var seen: [String] = []
            var next: String? = "/events?sort=date&limit=3"
            var pages = 0
            while let uri = next {
                let page = try await client.send(.get, uri)
                #expect(page.status == .ok)
                seen += try titles(page)
                next = page.nextLink
                pages += 1
                // A row inserted before the cursor's position must not shift the next page.
                try await client.createEvent(title: "Early\(pages)", date: "2029-01-01")
            }
            #expect(pages == 3)
            #expect(seen == ["E0", "E3", "E6", "E1", "E4", "E2", "E5"])
        }
    }

    @Test(arguments: Backend.all) func linkKeepsFiltersAndSortByPagesToo(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            for index in 0..<5 { try await client.createEvent(title: "T \(index)", location: "Tel Aviv", popularity: index) }
            let first = try await client.send(.get, "/sort_by/popularity?limit=2")
            #expect(try titles(first) == ["T 4", "T 3"])
            let link = try #require(first.nextLink)
            #expect(link.hasPrefix("/sort_by/popularity?limit=2&cursor="))
            let second = try await client.send(.get, link)
            #expect(try titles(second) == ["T 2", "T 1"])
            let filtered = try await client.send(.get, "/events?location=Tel+Aviv&limit=4")
            #expect(filtered.nextLink?.contains("location=Tel%20Aviv") == true)
            let last = try await client.send(.get, try #require(filtered.nextLink))
            #expect(try titles(last) == ["T 4"])
            #expect(last.nextLink == nil)
            // A text beyond ASCII is percent-encoded in the link, which leads to the next page.
            try await client.createEvent(title: "Café 1", location: "Tel Aviv")
            try await client.createEvent(title: "Café 2", location: "Tel Aviv")
            let withAccent = try await client.send(.get, "/events?q=caf%C3%A9&limit=1")
            let next = try #require(withAccent.nextLink)
            #expect(next.contains("q=caf%C3%A9&"), "\(next)")
            #expect(try titles(await client.send(.get, next)) == ["Café 2"])
        }
    }

    @Test(arguments: Backend.all) func badQueryParametersAre400(backend: Backend) async throws {
        try await withTestApp(backend: backend) { client, _ in
            for uri in [
                "/events?limit=0", "/events?limit=5000", "/events?sort=title", "/events?start_date=soon", "/events?page=2",
                "/events?cursor=nope", "/events?q=%ZZ",
            ] {
                let response = try await client.send(.get, uri)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(try response.errorCode() != nil)
            }
        }
    }
}
