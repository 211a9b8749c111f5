import FluentKit
import SQLKit

/// Subscriptions and the queue of emails to send (reminders and change notices).
///
/// The queue has no foreign key to events on purpose: a cancellation notice must outlive the
/// event it reports. `revision` counts an event's changes (the calendar attachment's SEQUENCE).
struct M002CreateSubscriptionsAndDeliveries: AsyncMigration {
    var name: String { "002_create_subscriptions_and_deliveries" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.raw("ALTER TABLE events ADD COLUMN revision BIGINT NOT NULL DEFAULT 0").run()
        try await sql.raw(
            """
            CREATE TABLE subscriptions (id \(unsafeRaw: sql.autoincrementKey), \
            event_id BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE, email TEXT NOT NULL, \
            email_normalized TEXT NOT NULL, remind_before_minutes BIGINT NOT NULL, status TEXT NOT NULL, \
            token TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, unsubscribed_at BIGINT, \
            UNIQUE (event_id, email_normalized))
            """
        ).run()
        try await sql.raw(
            """
            CREATE TABLE deliveries (id \(unsafeRaw: sql.autoincrementKey), kind TEXT NOT NULL, \
            subscription_id BIGINT NOT NULL, event_id BIGINT NOT NULL, email TEXT NOT NULL, \
            event_starts_at BIGINT NOT NULL, due_at BIGINT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, \
            next_attempt_at BIGINT NOT NULL, lease_owner TEXT, lease_expires_at BIGINT, last_error TEXT, sent_at BIGINT, \
            message_id TEXT NOT NULL, notice TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """
        ).run()
        try await sql.raw("CREATE INDEX deliveries_ready_idx ON deliveries (state, next_attempt_at)").run()
        try await sql.raw("CREATE INDEX deliveries_subscription_idx ON deliveries (subscription_id, state)").run()
        try await sql.raw(
            "CREATE UNIQUE INDEX deliveries_one_reminder_idx ON deliveries (subscription_id, event_starts_at) WHERE kind = 'reminder'"
        ).run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await sql.drop(table: "deliveries").run()
        try await sql.drop(table: "subscriptions").run()
        try await sql.raw("ALTER TABLE events DROP COLUMN revision").run()
    }
}
