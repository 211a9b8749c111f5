import Foundation
import PostgresNIO
import SQLKit
import Testing

@testable import EventManagerCore
@testable import EventManagerStorage

/// A filtered, sorted list first walks the sort order a bounded way on SQLite and falls back
/// to SQLite's own plan when the filters keep too few rows (`SQLEventRepository.list`): paged
/// to the end, both answer exactly what filtering and sorting every event answers.
@Suite(.resources, .timeLimit(.minutes(2))) struct ListPlanTests {
    static let locations = ["Haifa", "Eilat", "Tel Aviv", "Jerusalem"]

    @Test(arguments: Backend.all) func everyPlanPagesThroughExactlyTheMatches(backend: Backend) async throws {
        let store = try await TemporaryDatabase.make(backend: backend).open()
        let repository = SQLEventRepository(store: store)
        let base: Int64 = 1_924_992_000_000
        let drafts = (0..<400).map { index in
            EventDraft(
                title: "Event \(index)", location: Self.locations[index % 4],
                // Several events share a start and a popularity, so ties are broken by id.
                date: .instant(Timestamp(millisecondsSinceEpoch: base + Int64((index * 37) % 150) * 3_600_000)),
                popularity: Int64(index % 100))
        }
        let events = try await repository.create(drafts, now: Timestamp(millisecondsSinceEpoch: 1))

        var cases: [(String, EventListQuery, (Event) -> Bool)] = []
        var dense = EventListQuery()
        dense.sort = EventSort(field: .date, descending: false)
        dense.filter.minPopularity = 10
        dense.filter.maxPopularity = 70
        cases.append(("date, wide popularity range (the walk finds pages)", dense, { (10...70).contains($0.popularity) }))
        var sparse = EventListQuery()
        sparse.sort = EventSort(field: .date, descending: true)
        sparse.filter.popularity = 7
        cases.append(("date descending, one popularity (SQLite's plan)", sparse, { $0.popularity == 7 }))
        var byPopularity = EventListQuery()
        byPopularity.sort = EventSort(field: .popularity, descending: true)
        byPopularity.filter.location = "Haifa"
        byPopularity.filter.startsFrom = Timestamp(millisecondsSinceEpoch: base + 20 * 3_600_000)
        cases.append(
            (
                "popularity descending, a place and a start", byPopularity,
                { $0.location == "Haifa" && $0.startsAt.millisecondsSinceEpoch >= base + 20 * 3_600_000 }
            ))
        var created = EventListQuery()
        created.filter.minPopularity = 95
        cases.append(("creation order, a narrow range", created, { $0.popularity >= 95 }))
        var latest = EventListQuery()
        latest.sort = EventSort(field: .date, descending: true)
        latest.filter.location = "Eilat"
        cases.append(("date descending, a place (the walk finds pages)", latest, { $0.location == "Eilat" }))
        var newest = EventListQuery()
        newest.sort = EventSort(field: .creationTime, descending: true)
        newest.filter.maxPopularity = 60
        cases.append(("creation order descending, a wide range", newest, { $0.popularity <= 60 }))
        var search = EventListQuery()
        search.sort = EventSort(field: .popularity, descending: false)
        search.filter.text = "event 1"
        cases.append(("a search, by popularity", search, { $0.title.lowercased().contains("event 1") }))

        // Pages of 25 walk at most 520 rows, more than there are; pages of 3 walk at most 80,
        // so the walk is bounded by the key 80 rows on, ties included.
        for (name, query, keeps) in cases + cases.map({ ($0.0 + ", pages of 3", $0.1, $0.2) }) {
            let expected = events.filter(keeps).sorted { Self.precedes($0, $1, query.sort) }.map(\.id)
            var page = query
            page.limit = name.hasSuffix("pages of 3") ? 3 : 25
            var listed: [Int64] = []
            while true {
                let rows = try await repository.list(page)
                listed += rows.prefix(page.limit).map(\.id)
                // On PostgreSQL a node with kept events reads the same statement's ids and revisions.
                let revisions = try await repository.revisions(page)
                #expect((revisions == nil) == (backend == .sqlite))
                if let revisions {
                    #expect(revisions == rows.map { EventRevision(id: $0.id, revision: $0.revision) }, "\(name)")
                }
                guard rows.count > page.limit, let last = rows.prefix(page.limit).last else { break }
                page.after = EventCursor(sort: page.sort, key: Self.key(last, page.sort), id: last.id)
            }
            #expect(!expected.isEmpty)
            #expect(listed == expected, "\(name)")
        }
    }

    static func key(_ event: Event, _ sort: EventSort) -> Int64 {
        switch sort.field {
        case .creationTime: event.id
        case .date: event.startsAt.millisecondsSinceEpoch
        case .popularity: event.popularity
        }
    }

    static func precedes(_ a: Event, _ b: Event, _ sort: EventSort) -> Bool {
        let (left, right) = (key(a, sort), key(b, sort))
        if left != right { return sort.descending ? left > right : left < right }
        return sort.descending ? a.id > b.id : a.id < b.id
    }
}

/// Run-time SQL texts are prepared once per connection, and pool connections are reused
/// (`PostgresStatements`, `PostgresConnections`).
@Suite(.resources, .timeLimit(.minutes(2))) struct PostgresStatementsTests {
    @Test(.enabled(if: Backend.postgresURL != nil, "needs EVENT_MANAGER_TEST_POSTGRES_URL"))
    func aTextIsPreparedOncePerConnectionAndItsRowsReadByType() async throws {
        let store = try await TemporaryDatabase.make(backend: .postgres).open()
        let text = "SELECT $1::bigint + 1 AS next, $2::text AS word, $1::bigint > 0 AS positive -- \(UUID().uuidString)"
        let (first, second, onServer) = try await store.read { sql in
            let connection = try #require(sql.postgresConnection)
            let binds = [PostgresData(int64: 41), PostgresData(string: "forty")]
            let first = try await PostgresStatements.rows(text, binds, on: connection, logger: sql.logger)
            let second = try await PostgresStatements.rows(
                text, [PostgresData(int64: -2), PostgresData(string: "")], on: connection, logger: sql.logger)
            let onServer = try await PostgresStatements.rows(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", [PostgresData(string: text)], prepared: false,
                on: connection, logger: sql.logger)
            return (first, second, try onServer[0].first!.int64())
        }
        #expect(onServer == 1, "prepared once on the connection, run twice")
        func values(_ rows: [PostgresRow]) throws -> [String] {
            try rows.flatMap { row in
                var cells = row.makeIterator()
                return [String(try cells.next()!.int64()), try cells.next()!.string(), String(try cells.next()!.bool())]
            }
        }
        // Labelled text by PostgresNIO, sent in binary by PostgreSQL: read by type either way.
        #expect(try values(first) == ["42", "forty", "true"])
        #expect(try values(second) == ["-1", "", "false"])
    }

    @Test(.enabled(if: Backend.postgresURL != nil, "needs EVENT_MANAGER_TEST_POSTGRES_URL"))
    func aConnectionGivenBackIsTakenAgainWithoutThePool() async throws {
        let store = try await TemporaryDatabase.make(backend: .postgres).open()
        func backendID() async throws -> Int64 {
            try await store.read { sql in
                let connection = try #require(sql.postgresConnection)
                let rows = try await PostgresStatements.rows("SELECT pg_backend_pid()::bigint", [], on: connection, logger: sql.logger)
                return try rows[0].first!.int64()
            }
        }
        let first = try await backendID()
        for _ in 0..<5 { #expect(try await backendID() == first, "the shelf hands out the connection last given back") }
        // Bodies at once each hold a connection of their own.
        let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
            let gate = AsyncGate(count: 3)
            for _ in 0..<3 {
                group.addTask {
                    try await store.read { sql in
                        let connection = try #require(sql.postgresConnection)
                        await gate.arriveAndWait()
                        return try await PostgresStatements.rows("SELECT pg_backend_pid()::bigint", [], on: connection, logger: sql.logger)[
                            0
                        ].first!.int64()
                    }
                }
            }
            return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
        }
        #expect(ids.count == 3)
    }
}

/// Holds each arriving task until `count` have arrived.
actor AsyncGate {
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private let count: Int

    init(count: Int) { self.count = count }

    func arriveAndWait() async {
        if waiting.count + 1 == count {
            for continuation in waiting { continuation.resume() }
            waiting = []
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
}
