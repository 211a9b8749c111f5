import FluentKit
import SQLKit

/// The reminder ledger lists an event's deliveries page by page; without this index each page
/// would read the whole history.
struct M008DeliveriesByEvent: AsyncMigration {
    var name: String { "008_deliveries_by_event" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw("CREATE INDEX deliveries_event_idx ON deliveries (event_id, id)").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw("DROP INDEX deliveries_event_idx").run()
    }
}
