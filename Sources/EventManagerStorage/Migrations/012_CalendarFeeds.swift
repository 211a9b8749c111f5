import FluentKit
import SQLKit

/// Calendars: what a deleted event was (so feeds can carry it as STATUS:CANCELLED for as long
/// as its tombstone lives), and the subscriber's calendar token on each subscription: a
/// read-only capability for their personal feed, apart from the token that can unsubscribe,
/// and the same on every subscription of one address, so the feed outlives any one of them.
struct M012CalendarFeeds: AsyncMigration {
    var name: String { "012_calendar_feeds" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        for column in ["title TEXT", "location TEXT", "starts_at BIGINT", "timezone TEXT", "date_only BOOLEAN", "revision BIGINT"] {
            try await sql.raw("ALTER TABLE event_tombstones ADD COLUMN \(unsafeRaw: column)").run()
        }
        try await sql.raw("CREATE INDEX event_tombstones_start_idx ON event_tombstones (starts_at)").run()
        try await sql.raw("ALTER TABLE subscriptions ADD COLUMN feed_token TEXT").run()
        // Existing subscriptions get a random token too (128 bits, hex).
        let random: SQLQueryString =
            sql.dialect.name == "sqlite" ? "lower(hex(randomblob(16)))" : "md5(random()::text || clock_timestamp()::text || id::text)"
        try await sql.raw("UPDATE subscriptions SET feed_token = \(random)").run()
        try await sql.raw(
            """
            UPDATE subscriptions SET feed_token = (SELECT first.feed_token FROM subscriptions first \
            WHERE first.email_normalized = subscriptions.email_normalized ORDER BY first.id LIMIT 1)
            """
        ).run()
        try await sql.raw("CREATE INDEX subscriptions_feed_token_idx ON subscriptions (feed_token)").run()
        try await sql.raw("CREATE INDEX subscriptions_email_idx ON subscriptions (email_normalized)").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw("DROP INDEX subscriptions_email_idx").run()
        try await sql.raw("DROP INDEX subscriptions_feed_token_idx").run()
        try await sql.raw("ALTER TABLE subscriptions DROP COLUMN feed_token").run()
        try await sql.raw("DROP INDEX event_tombstones_start_idx").run()
        for column in ["revision", "date_only", "timezone", "starts_at", "location", "title"] {
            try await sql.raw("ALTER TABLE event_tombstones DROP COLUMN \(unsafeRaw: column)").run()
        }
    }
}
