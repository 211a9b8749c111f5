import EventManagerCore
import Foundation
import SQLKit

/// Calendar feeds' reads: cancelled events from the tombstones, and personal calendars.
public struct SQLCalendarStore: CalendarRepository {
    let store: DatabaseStore

    public init(store: DatabaseStore) {
        self.store = store
    }

    public func cancelled(startingFrom: Timestamp?, until: Timestamp?, limit: Int) async throws -> [CancelledEvent] {
        var query: SQLQueryString = """
            SELECT event_id, title, location, starts_at, timezone, date_only, revision, deleted_at FROM event_tombstones \
            WHERE starts_at IS NOT NULL
            """
        if let startingFrom { query += " AND starts_at >= \(bind: startingFrom.millisecondsSinceEpoch)" }
        if let until { query += " AND starts_at <= \(bind: until.millisecondsSinceEpoch)" }
        query += " ORDER BY starts_at, event_id LIMIT \(literal: limit)"
        let rows = try await store.read { sql in try await sql.raw(query).all() }
        return try rows.map(Self.cancelled(from:))
    }

    static func cancelled(from row: any SQLRow) throws -> CancelledEvent {
        CancelledEvent(
            id: try row.decode(column: "event_id", as: Int64.self), title: try row.decode(column: "title", as: String.self),
            location: try row.decode(column: "location", as: String.self),
            startsAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "starts_at", as: Int64.self)),
            timeZone: EventTimeZone(identifier: try row.decode(column: "timezone", as: String.self)) ?? .utc,
            isDateOnly: try row.decode(column: "date_only", as: Bool.self),
            sequence: try row.decode(column: "revision", as: Int64.self),
            deletedAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "deleted_at", as: Int64.self)))
    }

    public func personal(feedToken: String) async throws -> PersonalCalendar? {
        try await store.read { sql in
            guard
                let owner = try await sql.raw(
                    "SELECT email, email_normalized FROM subscriptions WHERE feed_token = \(bind: feedToken) LIMIT 1"
                ).first()
            else { return nil }
            let email = try owner.decode(column: "email", as: String.self)
            let normalized = try owner.decode(column: "email_normalized", as: String.self)
            let columns = SQLEventRepository.columns.split(separator: ",").map { "e." + $0.trimmingCharacters(in: .whitespaces) }
            let rows = try await sql.raw(
                """
                SELECT \(unsafeRaw: columns.joined(separator: ", ")), s.remind_before_minutes FROM subscriptions s \
                JOIN events e ON e.id = s.event_id WHERE s.email_normalized = \(bind: normalized) AND s.status = 'active' \
                ORDER BY e.starts_at, e.id LIMIT 1000
                """
            ).all()
            let items = try rows.map { row in
                PersonalCalendar.Item(
                    event: try SQLEventRepository.event(from: row),
                    remindBeforeMinutes: try row.decode(column: "remind_before_minutes", as: Int64.self))
            }
            // Deleted events of theirs stay as cancelled while their tombstones live: found through
            // the cancellation notice they were sent (the subscription went with the event).
            let cancelled = try await sql.raw(
                """
                SELECT t.event_id, t.title, t.location, t.starts_at, t.timezone, t.date_only, t.revision, t.deleted_at \
                FROM event_tombstones t WHERE t.starts_at IS NOT NULL AND EXISTS (SELECT 1 FROM deliveries d \
                WHERE d.event_id = t.event_id AND d.kind = 'cancellation' AND LOWER(d.email) IN \
                (SELECT LOWER(email) FROM subscriptions WHERE email_normalized = \(bind: normalized))) \
                ORDER BY t.starts_at, t.event_id LIMIT 1000
                """
            ).all().map(Self.cancelled(from:))
            return PersonalCalendar(email: email, items: items, cancelled: cancelled)
        }
    }
}
