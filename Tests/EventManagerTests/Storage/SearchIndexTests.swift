import Foundation
import SQLKit
import Testing

@testable import EventManagerCore
@testable import EventManagerStorage

/// `q` uses an index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL) and answers exactly what
/// the plain scan answers.
@Suite(.resources, .timeLimit(.minutes(2))) struct SearchIndexTests {
    static let titles = [
        "Swift Conference", "swift conf", "SWIFTLY", "Rust, Go; and C", #"He said "hi" there"#, "100% fun_day",
        "Ünïcode Straße", "École d'été", "a\\b path", "Tel Aviv meetup", "conference call", "Zürich CONFERENCE",
    ]
    static let queries = [
        "swift", "SWIFT", "conf", "Conference", "ference", "go;", #""hi""#, #"""#, "100%", "n_d", "fun_", "straße", "STRASSE",
        "ünï", "école", "a\\b", "aviv", "viv m", "zür", "xyz", "ce c", "d'é",
        // Several words: PostgreSQL narrows by each word and checks the whole text.
        "swift conference", "rust, go;", "conference  call", "tel aviv meetup", "hall conference", " swift", "call ",
        "said \"hi\" there", "100% fun", "nope conference",
    ]

    @Test(arguments: Backend.all) func indexedSearchAnswersWhatTheScanAnswers(backend: Backend) async throws {
        let store = try await TemporaryDatabase.make(backend: backend).open()
        let repository = SQLEventRepository(store: store)
        let drafts = Self.titles.enumerated().map { index, title in
            EventDraft(title: title, location: index.isMultiple(of: 3) ? "Conference Hall" : "Haifa", date: DateInput.parse("2031-01-01")!)
        }
        _ = try await repository.create(drafts, now: Timestamp(millisecondsSinceEpoch: 1))
        // A moved and a deleted event: the index follows updates and deletes.
        _ = try await repository.update(id: 2, now: Timestamp(millisecondsSinceEpoch: 2)) { event in
            EventDraft(title: "renamed", location: event.location, date: .instant(event.startsAt))
        }
        _ = try await repository.delete(ids: [3], now: Timestamp(millisecondsSinceEpoch: 3))
        // The longest text `q` takes, of nearly 200 distinct trigrams: one statement counts them all.
        let long = (0..<66).map { String(1000 + $0 * 7).dropFirst() }.joined()
        for text in Self.queries + [long, "Swift Conference" + long.prefix(184)] {
            var query = EventListQuery()
            query.filter.text = text
            query.limit = 100
            let indexed = try await repository.list(query).map(\.id)
            let pattern = "%" + SQLEventRepository.escapeLike(text.lowercased()) + "%"
            let scanned = try await store.sqlRaw(
                "SELECT id FROM events WHERE LOWER(title) LIKE \(bind: pattern) ESCAPE '\\' OR LOWER(location) LIKE \(bind: pattern) ESCAPE '\\' ORDER BY id"
            ).all().map { try $0.decode(column: "id", as: Int64.self) }
            #expect(indexed == scanned, "q=\(text)")
            // With a location filter too (PostgreSQL checks that location's text once, not per row).
            for location in ["Haifa", "Conference Hall"] {
                query.filter.location = location
                let inLocation = try await repository.list(query).map(\.id)
                let scannedInLocation = try await store.sqlRaw(
                    """
                    SELECT id FROM events WHERE location = \(bind: location) AND (LOWER(title) LIKE \(bind: pattern) ESCAPE '\\' \
                    OR LOWER(location) LIKE \(bind: pattern) ESCAPE '\\') ORDER BY id
                    """
                ).all().map { try $0.decode(column: "id", as: Int64.self) }
                #expect(inLocation == scannedInLocation, "q=\(text) location=\(location)")
            }
        }
        if backend == .sqlite {
            let plan = try await store.sqlRaw(
                "EXPLAIN QUERY PLAN SELECT id FROM events WHERE id IN (SELECT rowid FROM events_search WHERE events_search MATCH '\"conf\"')"
            ).all().map { try $0.decode(column: "detail", as: String.self) }
            #expect(plan.contains { $0.contains("VIRTUAL TABLE INDEX") }, "\(plan)")
            // A search reads only the rows of its rarest trigrams, and none when a trigram is nowhere.
            let narrowing = try await repository.searchNarrowing("Swift Conference")
            guard case .rowsHolding(let trigrams) = narrowing else {
                Issue.record("rare trigrams narrow the search: \(narrowing)")
                return
            }
            #expect(trigrams.count == SQLEventRepository.narrowingTrigrams)
            #expect(trigrams.allSatisfy { "swift conference".contains($0) && $0.count == 3 }, "\(trigrams)")
            #expect(try await repository.searchNarrowing("xyz") == .nothingMatches)
            #expect(try await repository.searchNarrowing("école") == .none, "not ASCII: scanned")
            #expect(try await repository.searchNarrowing("go") == .none, "shorter than a trigram")
            // A common trigram's rows are counted only up to the cap ("con" is in six rows).
            let counts = try await store.read { try await SQLEventRepository.rows(holding: ["con", "xyz"], upTo: 3, on: $0) }
            #expect(counts == ["con": 3, "xyz": 0])
        }
    }

    /// Each event of one transaction gets its own id and change position, read back without
    /// `RETURNING` on SQLite (`SQLDatabase+Returning.swift`), and is found by a search.
    @Test(arguments: Backend.all) func eventsWrittenTogetherGetTheirOwnIdsAndPositions(backend: Backend) async throws {
        let store = try await TemporaryDatabase.make(backend: backend).open()
        let repository = SQLEventRepository(store: store)
        let first = try await repository.create(
            [EventDraft(title: "Alone", location: "Here", date: DateInput.parse("2030-01-01")!)], owner: nil,
            now: Timestamp(millisecondsSinceEpoch: 1))
        let before = try #require(try await repository.changes(after: 0, limit: 100).lastPosition)
        let drafts = (0..<8).map { EventDraft(title: "Together \($0)", location: "Here", date: DateInput.parse("2030-01-01")!) }
        let events = try await repository.create(drafts, owner: nil, now: Timestamp(millisecondsSinceEpoch: 2))
        #expect(events.map(\.id) == (1...8).map { first[0].id + Int64($0) })
        for event in events { #expect(try await repository.find(id: event.id)?.title == event.title) }
        let page = try await repository.changes(after: before, limit: 100)
        #expect(page.changed.map(\.id) == events.map(\.id))
        #expect(page.lastPosition == before + 8)
        var query = EventListQuery()
        query.filter.text = "together 7"
        #expect(try await repository.list(query).map(\.id) == [events[7].id])
    }

    /// SQLite: the service indexes the events it creates (M015), one transaction's events as
    /// one segment of the index rather than one each; moves and deletes keep it whole, and a row
    /// written by hand is indexed when the store next starts.
    @Test func theServiceKeepsTheSearchIndexWhole() async throws {
        let database = try await TemporaryDatabase.make()
        let store = try await database.open()
        let repository = SQLEventRepository(store: store)
        @Sendable func segments() async throws -> Int {
            try await store.sqlRaw("SELECT count(DISTINCT segid) AS n FROM events_search_idx").first()!.decode(column: "n", as: Int.self)
        }
        @Sendable func found(_ text: String) async throws -> [String] {
            var query = EventListQuery()
            query.filter.text = text
            return try await repository.list(query).map(\.title)
        }
        @Sendable func isWhole() async throws -> Bool {
            do {
                try await store.write {
                    try await $0.raw("INSERT INTO events_search(events_search, rank) VALUES ('integrity-check', 1)").run()
                }
                return true
            } catch { return false }
        }
        let before = try await segments()
        let drafts = (0..<8).map { EventDraft(title: "Gathering \($0)", location: "Haifa", date: DateInput.parse("2030-01-01")!) }
        let events = try await repository.create(drafts, owner: nil, now: Timestamp(millisecondsSinceEpoch: 1))
        #expect(try await segments() == before + 1, "one segment for the transaction's eight events")
        #expect(try await found("gathering 5") == ["Gathering 5"])
        _ = try await repository.update(id: events[5].id, now: Timestamp(millisecondsSinceEpoch: 2)) { event in
            EventDraft(title: "Moved", location: event.location, date: .instant(event.startsAt))
        }
        _ = try await repository.delete(ids: [events[6].id], now: Timestamp(millisecondsSinceEpoch: 3))
        #expect(try await found("gathering") == ["Gathering 0", "Gathering 1", "Gathering 2", "Gathering 3", "Gathering 4", "Gathering 7"])
        #expect(try await isWhole())

        try await store.write {
            try await $0.raw(
                "INSERT INTO events (title, location, starts_at, timezone, date_only, popularity, created_at, updated_at) VALUES ('Handmade', 'Shed', 0, 'UTC', 0, 0, 1, 1)"
            ).run()
        }
        #expect(try await found("handmade").isEmpty, "not indexed until the next start")
        #expect(!(try await isWhole()))
        let restarted = try await database.open()
        let again = SQLEventRepository(store: restarted)
        var query = EventListQuery()
        query.filter.text = "handmade"
        #expect(try await again.list(query).map(\.title) == ["Handmade"])
        #expect(try await isWhole())
        // Starting again with the index whole rebuilds nothing: the segments stay as they are.
        let settled = try await segments()
        _ = try await database.open()
        #expect(try await segments() == settled)
    }

    @Test func searchPartsAreWhatATrigramIndexCanServe() {
        #expect(SQLEventRepository.searchParts("event 61899") == ["61899", "event"])
        #expect(SQLEventRepository.searchParts("event 26") == ["event", " 26"])
        #expect(SQLEventRepository.searchParts("go to  the tel aviv show") == ["aviv", "show", " to"])
        #expect(SQLEventRepository.searchParts("a b") == [])
        #expect(SQLEventRepository.searchParts("ab") == [], "no space before it")
        #expect(SQLEventRepository.searchParts("a bb") == [" bb"])
        #expect(SQLEventRepository.searchParts(" swift\tswift ") == ["swift"])
    }

    /// A rare part read through many rows is narrowed to a word's start when the text has the
    /// space before it and the planner expects at most half the rows that way; a part rare
    /// enough already, one at the text's start, or one with its space already, is kept.
    @Test func rarePartsReadThroughManyRowsAreNarrowedToWordStarts() {
        let estimates: [String: Int64] = ["377": 3003, "event": 999_900, "61899": 100, " 377": 1001, "show": 5000, " show": 4000]
        let limit = 20_000.0
        #expect(SQLEventRepository.wordStartCandidates(["377"], of: "event 377", estimates: estimates, limit: limit) == [" 377"])
        #expect(SQLEventRepository.wordStartCandidates(["61899"], of: "event 61899", estimates: estimates, limit: limit).isEmpty)
        #expect(SQLEventRepository.wordStartCandidates(["377"], of: "377 event", estimates: estimates, limit: limit).isEmpty)
        #expect(SQLEventRepository.wordStartCandidates([" 26"], of: "event 26", estimates: [" 26": 9000], limit: limit).isEmpty)
        #expect(SQLEventRepository.narrowedToWordStarts(["377", "61899"], estimates: estimates) == [" 377", "61899"])
        #expect(SQLEventRepository.narrowedToWordStarts(["show"], estimates: estimates) == ["show"], "4,000 is not half of 5,000")
    }

    /// On PostgreSQL a rare word is read through its index and sorted after; a common one
    /// walks the sort order. Either way the pages are what a scan answers.
    @Test(.enabled(if: Backend.postgresURL != nil, "needs EVENT_MANAGER_TEST_POSTGRES_URL"))
    func postgresReadsRarePartsThroughTheIndex() async throws {
        let store = try await TemporaryDatabase.make(backend: .postgres).open()
        let repository = SQLEventRepository(store: store)
        try await store.write { sql in
            try await sql.raw(
                """
                INSERT INTO events (title, location, starts_at, timezone, date_only, popularity, created_at, updated_at) \
                SELECT 'Event ' || n || ' common', (ARRAY['Hall', 'Annex', 'Garden', 'Roof'])[1 + n % 4], 1924992000000 + n * 60000, 'UTC', false, n % 7, 1, 1 \
                FROM generate_series(1, 3000) AS n
                """
            ).run()
            try await sql.raw("ANALYZE events").run()
        }
        #expect(try await repository.rareParts(["common", "event", "1234"]) == ["1234"])
        // M013: the planner's sample of the searched texts is ten times the default.
        let targets = try await store.sqlRaw(
            "SELECT attstattarget FROM pg_attribute WHERE attrelid IN ('events_title_trgm_idx'::regclass, 'events_location_trgm_idx'::regclass)"
        ).all().map { try $0.decode(column: "attstattarget", as: Int.self) }
        #expect(targets == [1000, 1000])
        #expect(try await repository.search("Event 1234")?.readsFirst != nil)
        // M016: a page of one location in popularity or date order can walk that location
        // alone (at a million rows the planner does; in this small table, told to read in order).
        for (order, index) in [
            ("popularity DESC, id DESC", "events_location_popularity_idx"), ("starts_at, id", "events_location_starts_at_idx"),
        ] {
            let plan = try await store.transaction { sql in
                for setting in ["enable_seqscan", "enable_bitmapscan", "enable_sort"] {
                    try await sql.raw("SET LOCAL \(unsafeRaw: setting) = off").run()
                }
                return try await sql.raw(
                    """
                    EXPLAIN SELECT id FROM events WHERE location = 'Hall' AND popularity >= 3 \
                    AND strpos(LOWER(title), 'common') > 0 ORDER BY \(unsafeRaw: order) LIMIT 101
                    """
                ).all().map { try $0.decode(column: "QUERY PLAN", as: String.self) }.joined(separator: "\n")
            }
            #expect(plan.contains(index), "\(plan)")
        }
        #expect(try await repository.search("common")?.readsFirst == nil)
        for (text, sort) in [
            ("event 12", "-popularity"), ("common", "date"), ("12 common", "popularity"), ("event 1234", "-date"),
            ("1234", "creation_time"), ("event 300", "date"), ("event 1 common", "-date"),
        ] {
            var query = try EventListQuery.parse([("q", text), ("sort", sort), ("limit", "7")])
            var listed: [Int64] = []
            while true {
                let page = try await repository.list(query)
                listed += page.prefix(query.limit).map(\.id)
                guard page.count > query.limit, let last = page.prefix(query.limit).last else { break }
                query.after = EventCursor(sort: query.sort, key: query.sort.key(of: last), id: last.id)
            }
            let (column, direction) = sort.hasPrefix("-") ? (String(sort.dropFirst()), "DESC") : (sort, "ASC")
            let key = ["date": "starts_at", "creation_time": "id"][column] ?? column
            let scanned = try await store.sqlRaw(
                """
                SELECT id FROM events WHERE strpos(LOWER(title), \(bind: text)) > 0 OR strpos(LOWER(location), \(bind: text)) > 0 \
                ORDER BY \(unsafeRaw: key) \(unsafeRaw: direction), id \(unsafeRaw: direction)
                """
            ).all().map { try $0.decode(column: "id", as: Int64.self) }
            #expect(listed == scanned, "q=\(text) sort=\(sort)")
        }
    }
}
