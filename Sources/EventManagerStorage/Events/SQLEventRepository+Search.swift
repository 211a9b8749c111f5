import EventManagerCore
import SQLKit
import Synchronization

/// `q`: the rows whose title or location holds a text, found through the search indexes.
///
/// The plain condition (`LOWER(column)` holds the lowered text) always decides, so answers are
/// what a scan answers; the indexes only narrow the rows it looks at (see `M007SearchIndex`).
/// What narrows best is a rare part of the text: every trigram of "Event 61899" is read for
/// a LIKE on the whole text, and "eve" is in every row, while "618" is in a few thousand.
extension SQLEventRepository {
    /// How a list reads the rows holding a text.
    struct Search {
        /// Conditions, each starting with " AND ", that keep the rows holding the text.
        var conditions: SQLQueryString
        /// Conditions that an index serves by reading few rows: the page is then chosen among
        /// those rows (read first, then filtered and sorted), never by walking the sort order.
        var readsFirst: SQLQueryString? = nil
    }

    /// How to find the rows holding `text`, or nil when no row can; `location` is the page's
    /// location filter, if any.
    func search(_ text: String, location: String? = nil) async throws -> Search? {
        let lowered = text.lowercased()
        let holdsText = " AND " + Self.holding(lowered)
        if store.isSQLite {
            switch try await searchNarrowing(text) {
            case .none: return Search(conditions: holdsText)
            case .nothingMatches: return nil
            case .rowsHolding(let trigrams):
                // SQLite reads the rows the index names and sorts them.
                let query = trigrams.map(Self.ftsPhrase).joined(separator: " AND ")
                return Search(
                    conditions: " AND id IN (SELECT rowid FROM events_search WHERE events_search MATCH \(bind: query))" + holdsText)
            }
        }
        // PostgreSQL: pg_trgm's index reads the list of every trigram of a LIKE, also the
        // common ones ("eve" of "Event 61899": 13 ms at a million rows; 0.5 ms for "61899"
        // alone). So a LIKE is only written for the text's rare parts (`searchParts`, in the
        // planner's own estimate below `rareShare` of the rows; M013 gives it the statistics
        // for that), and their rows are read first: left to choose, the planner walked the
        // sort order assuming the matches spread evenly, while "Event 527" bunches around
        // event 527,000 (238 ms), or joined the index of the location (250,000 rows, 8 ms).
        // The whole text is checked with `strpos`, which no index serves, so without a rare
        // part the sort order is walked.
        // With a location filter every row's location is that one: lowered once, as a value the
        // planner folds, not once per row walked (a fifth of a walk's time at a million events).
        let rowLocation: SQLQueryString = location.map { "LOWER(\(bind: $0))" } ?? "LOWER(location)"
        let holdsWhole: SQLQueryString =
            " AND (strpos(LOWER(title), \(bind: lowered)) > 0 OR strpos(\(rowLocation), \(bind: lowered)) > 0)"
        let parts = Self.searchParts(lowered)
        let rare = parts.isEmpty ? [] : try await rareParts(parts, of: lowered)
        guard !rare.isEmpty else { return Search(conditions: holdsWhole) }
        var reading: SQLQueryString = ""
        for part in rare { reading += " AND " + Self.holding(part) }
        return Search(conditions: rare == [lowered] ? "" : holdsWhole, readsFirst: reading)
    }

    /// Share of the rows below which a part is rare enough to read its rows through the index.
    static let rareShare = 0.02

    /// The parts among `parts` that the planner estimates in at most `rareShare` of the rows
    /// (and at most `commonRows`), each narrowed to a word's start where that reads far fewer
    /// rows (`narrowedToWordStarts`).
    func rareParts(_ parts: [String], of text: String = "") async throws -> [String] {
        var estimates = try await estimatedRows(Set(parts + [""]))
        // Also at most as many rows as a rare trigram on SQLite, so reading them first stays
        // a bounded cost in a table of ten million.
        let limit = min(Double(max(estimates[""] ?? 0, 1)) * Self.rareShare, Double(Self.commonRows))
        let rare = parts.filter { Double(estimates[$0] ?? .max) <= limit }
        let starts = Self.wordStartCandidates(rare, of: text, estimates: estimates, limit: limit)
        guard !starts.isEmpty else { return rare }
        estimates.merge(try await estimatedRows(Set(starts))) { _, new in new }
        return Self.narrowedToWordStarts(rare, estimates: estimates)
    }

    /// The planner's estimates for `keys`, remembered for a minute as trigram counts are; ""
    /// is the whole table.
    private func estimatedRows(_ keys: Set<String>) async throws -> [String: Int64] {
        var estimates = termRows.known(keys)
        let unknown = keys.subtracting(estimates.keys)
        if !unknown.isEmpty {
            let found = try await store.read { sql in
                var found: [String: Int64] = [:]
                for part in unknown { found[part] = try await Self.estimatedRows(holding: part, on: sql) }
                return found
            }
            termRows.remember(found)
            estimates.merge(found) { _, new in new }
        }
        return estimates
    }

    /// Rare parts read through many rows (over a twentieth of the rare limit: 1,000 at a million
    /// events) that follow a space in the text: the same part with that space is worth asking
    /// the planner about.
    ///
    /// "377" of "Event 377" is in 4,000 of a million titles, spread over 1,155 pages of the
    /// table (5 ms to read); " 377", a word starting with it, in 1,111 rows on 33 pages (1.5 ms).
    /// The space adds a word-start trigram, whose list is long, so for a part that is rare
    /// already (a number of five digits: 0.3 ms) it costs more than it saves (0.8 ms).
    static func wordStartCandidates(_ rare: [String], of text: String, estimates: [String: Int64], limit: Double) -> [String] {
        rare.filter { part in
            !part.hasPrefix(" ") && Double(estimates[part] ?? 0) > limit / 20 && text.contains(" " + part)
        }.map { " " + $0 }
    }

    /// Each rare part replaced by its word start where the planner expects at most half the rows.
    static func narrowedToWordStarts(_ rare: [String], estimates: [String: Int64]) -> [String] {
        rare.map { part in
            guard let plain = estimates[part], let start = estimates[" " + part], start * 2 <= plain else { return part }
            return " " + part
        }
    }

    /// The planner's estimate of the rows whose title or location holds `part` (all rows for "").
    static func estimatedRows(holding part: String, on sql: any SQLDatabase) async throws -> Int64 {
        let query: SQLQueryString = part.isEmpty ? "EXPLAIN SELECT 1 FROM events" : "EXPLAIN SELECT 1 FROM events WHERE " + holding(part)
        // The first line is the top node: "Bitmap Heap Scan on events  (cost=... rows=1106 width=0)".
        let top = try await sql.raw(query).first()?.decode(column: "QUERY PLAN", as: String.self) ?? ""
        guard let range = top.range(of: " rows=") else { return .max }
        return Int64(top[range.upperBound...].prefix { $0.isNumber }) ?? .max
    }

    /// The parts of a lowered text that a trigram index can serve, longest first, at most
    /// `maxSearchParts`: its words of three characters or more, and a shorter word with the
    /// space before it (" 26" of "Event 26", which pg_trgm reads as the start of a word). Each
    /// is a part of the text, so a row holding the text holds every one of them.
    static func searchParts(_ lowered: String) -> [String] {
        var parts: [String] = []
        var index = lowered.startIndex
        while let start = lowered[index...].firstIndex(where: { !$0.isWhitespace }) {
            let end = lowered[start...].firstIndex(where: \.isWhitespace) ?? lowered.endIndex
            let word = lowered[start..<end]
            if word.count >= 3 {
                parts.append(String(word))
            } else if start > lowered.startIndex {
                parts.append(String(lowered[lowered.index(before: start)..<end]))
            }
            index = end
        }
        let distinct = Array(Set(parts).filter { $0.count >= 3 })
        return distinct.sorted { ($1.count, $0) < ($0.count, $1) }.prefix(maxSearchParts).map { $0 }
    }

    /// Parts of a text turned into conditions: each is a pattern the planner estimates.
    static let maxSearchParts = 3

    /// How the trigram index can narrow a search for `text` on SQLite.
    enum SearchNarrowing: Equatable {
        /// Scan: PostgreSQL (see `search`), text shorter than a trigram or not ASCII
        /// (the index folds case differently from `LOWER`), or a text whose trigrams are all in
        /// so many rows that walking the sort order finds a page sooner.
        case none
        /// A trigram of the text is in no row: nothing can match.
        case nothingMatches
        /// Only rows holding all of these trigrams (the text's rarest, at most
        /// `narrowingTrigrams`) can match.
        case rowsHolding([String])
    }

    /// Rows above which a trigram (SQLite) or a part of a text (PostgreSQL) is too common to
    /// narrow a search.
    static let commonRows: Int64 = 20_000

    /// Trigrams a search reads the index of: FTS5 intersects their lists, so each one more
    /// narrows further and costs one more list of at most `commonRows`.
    static let narrowingTrigrams = 3

    func searchNarrowing(_ text: String) async throws -> SearchNarrowing {
        let bytes = Array(text.lowercased().utf8)
        guard store.isSQLite, bytes.count >= 3, bytes.allSatisfy({ $0 < 0x80 }) else { return .none }
        let trigrams = Set((0...(bytes.count - 3)).map { String(decoding: bytes[$0..<($0 + 3)], as: UTF8.self) })
        // Counts are remembered for a minute: they only choose the plan. Absence, which
        // answers "nothing matches", is always asked afresh.
        var counts = termRows.known(trigrams)
        let unknown = Array(trigrams.subtracting(counts.keys))
        if !unknown.isEmpty {
            let found = try await store.read { try await Self.rows(holding: unknown, upTo: Self.commonRows + 1, on: $0) }
            if found.values.contains(0) { return .nothingMatches }
            termRows.remember(found)
            counts.merge(found) { _, new in new }
        }
        let rarest = counts.filter { $0.value <= Self.commonRows }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
        guard !rarest.isEmpty else { return .none }
        return .rowsHolding(rarest.prefix(Self.narrowingTrigrams).map(\.key))
    }

    /// Rows of the search index holding each trigram, counted up to `cap`: a common trigram's
    /// list ("eve" of "Event": a million entries) is never read to its end, as counting it
    /// through `fts5vocab` did (25 ms at a million rows).
    static func rows(holding trigrams: [String], upTo cap: Int64, on sql: any SQLDatabase) async throws -> [String: Int64] {
        let counts = trigrams.map { trigram -> SQLQueryString in
            """
            SELECT \(bind: trigram) AS term, (SELECT count(*) FROM (SELECT 1 FROM events_search \
            WHERE events_search MATCH \(bind: ftsPhrase(trigram)) LIMIT \(literal: cap))) AS rows
            """
        }
        let rows = try await sql.raw(counts.joined(separator: " UNION ALL ")).all()
        var found: [String: Int64] = [:]
        for row in rows {
            found[try row.decode(column: "term", as: String.self)] = try row.decode(column: "rows", as: Int64.self)
        }
        return found
    }

    /// The condition that a row's title or location, lowered, holds the lowered `text`: the one
    /// that decides a search, and that pg_trgm's indexes serve.
    static func holding(_ lowered: String) -> SQLQueryString {
        let pattern = "%" + escapeLike(lowered) + "%"
        return "(LOWER(title) LIKE \(bind: pattern) ESCAPE '\\' OR LOWER(location) LIKE \(bind: pattern) ESCAPE '\\')"
    }

    /// `text` as an FTS5 phrase: in double quotes, a quote doubled.
    static func ftsPhrase(_ text: String) -> String {
        "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    static func escapeLike(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}

/// Rows per search term (a trigram on SQLite, a word's estimate on PostgreSQL), remembered for
/// a minute: a hint for choosing a plan, never an answer.
final class SearchTermRows: Sendable {
    private let counts = Mutex<[String: (rows: Int64, until: ContinuousClock.Instant)]>([:])

    func known(_ terms: Set<String>) -> [String: Int64] {
        let now = ContinuousClock.now
        return counts.withLock { counts in
            var known: [String: Int64] = [:]
            for term in terms {
                if let entry = counts[term], entry.until > now { known[term] = entry.rows }
            }
            return known
        }
    }

    func remember(_ found: [String: Int64]) {
        let until = ContinuousClock.now + .seconds(60)
        counts.withLock { counts in
            if counts.count > 50_000 { counts.removeAll(keepingCapacity: true) }
            for (term, rows) in found { counts[term] = (rows, until) }
        }
    }
}
