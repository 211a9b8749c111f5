import Testing

@testable import EventManagerCore

@Suite(.resources) struct EventQueryTests {
    @Test func parsesEveryFilter() throws {
        let query = try EventListQuery.parse([
            ("id", "3"), ("title", "A"), ("location", "B"), ("q", "con"), ("start_date", "2030-01-01"),
            ("end_date", "2030-01-31"), ("popularity", "5"), ("min_popularity", "1"), ("max_popularity", "9"),
            ("sort", "-popularity"), ("limit", "20"),
        ])
        #expect(query.filter.id == 3)
        #expect(query.filter.text == "con")
        #expect(query.filter.startsFrom?.rfc3339 == "2030-01-01T00:00:00Z")
        #expect(query.filter.startsUntil?.rfc3339 == "2030-01-31T23:59:59.999Z")
        #expect(query.sort == EventSort(field: .popularity, descending: true))
        #expect(query.limit == 20)
    }

    @Test(arguments: [
        [("limit", "0")], [("limit", "1001")], [("limit", "x")], [("sort", "title")], [("start_date", "yesterday")],
        [("popularity", "-1")], [("color", "red")], [("id", "1"), ("id", "2")], [("cursor", "garbage!")], [("q", "")],
        [("q", "\u{0}")], [("q", "a\u{0}zzzz")], [("title", "x\u{7}")], [("cursor", "-date~5.1"), ("sort", "popularity")],
        [("cursor", "5.1")],
    ])
    func rejectsBadParameters(parameters: [(String, String)]) {
        #expect(throws: AppError.self) { try EventListQuery.parse(parameters) }
    }

    @Test func cursorRoundTrips() throws {
        let cursor = EventCursor(sort: EventSort(field: .date, descending: true), key: -86_400_000, id: 42)
        #expect(cursor.encoded == "-date~-86400000.42")
        #expect(EventCursor(encoded: cursor.encoded) == cursor)
        let query = try EventListQuery.parse([("cursor", cursor.encoded), ("sort", "-date")])
        #expect(query.after == cursor)
        for bad in ["-date~1.", "-date~.1", "-date~1.2.3", "-date~a.1", "-date~1.-1", "-date~99999999999999999999.1", "1.2", "title~1.2"] {
            #expect(EventCursor(encoded: bad) == nil, "\(bad)")
        }
    }

    @Test func sortByRouteFixesTheOrder() throws {
        let fixed = EventSort(field: .popularity, descending: true)
        #expect(try EventListQuery.parse([], fixedSort: fixed).sort == fixed)
        #expect(throws: AppError.self) { try EventListQuery.parse([("sort", "date")], fixedSort: fixed) }
        let cursor = EventCursor(sort: fixed, key: 7, id: 3)
        #expect(try EventListQuery.parse([("cursor", cursor.encoded)], fixedSort: fixed).after == cursor)
        #expect(throws: AppError.self, "a cursor of another ordering") {
            try EventListQuery.parse([("cursor", cursor.encoded)], fixedSort: EventSort(field: .date, descending: true))
        }
    }

    @Test func onlyAnIDFilterIsALookupByKey() throws {
        #expect(try EventListQuery.parse([("id", "5")]).filter.onlyID == 5)
        #expect(try EventListQuery.parse([("id", "5"), ("sort", "-date"), ("limit", "3")]).filter.onlyID == 5)
        #expect(try EventListQuery.parse([("id", "5"), ("q", "x")]).filter.onlyID == nil)
        #expect(try EventListQuery.parse([]).filter.onlyID == nil)
    }
}
