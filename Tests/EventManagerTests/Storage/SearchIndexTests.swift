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
        for text in Self.queries {
            var query = EventListQuery()
            query.filter.text = text
            query.limit = 100
            let indexed = try await repository.list(query).map(\.id)
            let pattern = "%" + SQLEventRepository.escapeLike(text.lowercased()) + "%"
            let scanned = try await store.sqlRaw(
                "SELECT id FROM events WHERE LOWER(title) LIKE \(bind: pattern) ESCAPE '\\' OR LOWER(location) LIKE \(bind: pattern) ESCAPE '\\' ORDER BY id"
            ).all().map { try $0.decode(column: "id", as: Int64.self) }
            #expect(indexed == scanned, "q=\(text)")
        }
        if backend == .sqlite {
            let plan = try await store.sqlRaw(
                "EXPLAIN QUERY PLAN SELECT id FROM events WHERE id IN (SELECT rowid FROM events_search WHERE events_search MATCH '\"conf\"')"
            ).all().map { try $0.decode(column: "detail", as: String.self) }
            #expect(plan.contains { $0.contains("VIRTUAL TABLE INDEX") }, "\(plan)")
            // A search reads only the rows of its rarest trigram, and none when a trigram is nowhere.
            let narrowing = try await repository.searchNarrowing("Swift C")
            guard case .rowsHolding(let trigram) = narrowing else {
                Issue.record("a rare trigram narrows the search: \(narrowing)")
                return
            }
            #expect("swift c".contains(trigram) && trigram.count == 3)
            #expect(try await repository.searchNarrowing("xyz") == .nothingMatches)
            #expect(try await repository.searchNarrowing("école") == .none, "not ASCII: scanned")
            #expect(try await repository.searchNarrowing("go") == .none, "shorter than a trigram")
        }
    }
}
