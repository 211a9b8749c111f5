import FluentKit
import SQLKit

/// Finer statistics for the texts `q` searches (PostgreSQL), so the planner can tell a rare
/// part of a text from a common one.
///
/// A search reads the rows of its rare parts first (`SQLEventRepository.search`), and which
/// parts are rare is the planner's estimate. It estimates a LIKE from a sample of the lowered
/// titles and locations that ANALYZE keeps for the trigram indexes: at the default 100 values
/// a part in 0.4 % of a million rows ("724") read as 2 %, one sample more than it held; at
/// 1,000 the estimate was 3,003 rows for 3,999. ANALYZE of a million events takes 1.5 s
/// instead of 0.3. SQLite counts the trigram index itself and needs nothing.
struct M013SearchStatistics: AsyncMigration {
    var name: String { "013_search_statistics" }

    func prepare(on database: any Database) async throws {
        try await setStatistics(1000, on: database)
    }

    func revert(on database: any Database) async throws {
        try await setStatistics(-1, on: database)
    }

    /// `target` for the indexes' one column, the lowered text (-1: the server's default).
    private func setStatistics(_ target: Int, on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        guard sql.dialect.name != "sqlite" else { return }
        for index in ["events_title_trgm_idx", "events_location_trgm_idx"] {
            try await sql.raw("ALTER INDEX \(unsafeRaw: index) ALTER COLUMN 1 SET STATISTICS \(unsafeRaw: String(target))").run()
        }
        try await sql.raw("ANALYZE events").run()
    }
}
