import EventManagerCore
import SQLKit

/// The change feed over the events table and its tombstones.
extension SQLEventRepository: EventChangeFeed {
    public func changes(after position: Int64, limit: Int) async throws -> EventChangePage {
        try await store.read { sql in
            if position > 0 {
                let purged = try await sql.raw("SELECT purged_through FROM sync_state WHERE id = 1").first()
                guard try purged?.decode(column: "purged_through", as: Int64.self) ?? 0 <= position else { throw SyncToken.expired }
            }
            // One statement, so one snapshot: positions commit in order, and a page ends at a
            // position below which nothing can still appear.
            var keys = try await sql.raw(
                """
                SELECT change_seq, id, 0 AS gone FROM events WHERE change_seq > \(bind: position) \
                UNION ALL SELECT change_seq, event_id AS id, 1 AS gone FROM event_tombstones WHERE change_seq > \(bind: position) \
                ORDER BY change_seq LIMIT \(literal: limit + 1)
                """
            ).all().map {
                (
                    position: try $0.decode(column: "change_seq", as: Int64.self), id: try $0.decode(column: "id", as: Int64.self),
                    gone: try $0.decode(column: "gone", as: Int.self) == 1
                )
            }
            let hasMore = keys.count > limit
            if hasMore { keys.removeLast() }
            let changedIDs = keys.filter { !$0.gone }.map(\.id)
            var events: [Int64: Event] = [:]
            if !changedIDs.isEmpty {
                // As they are now: one changed since appears again, later; one deleted since has
                // a tombstone further on.
                for row in try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM events WHERE id IN (\(binds: changedIDs))").all() {
                    let event = try Self.event(from: row)
                    events[event.id] = event
                }
            }
            return EventChangePage(
                changed: changedIDs.compactMap { events[$0] }, deleted: keys.filter(\.gone).map(\.id), lastPosition: keys.last?.position,
                hasMore: hasMore)
        }
    }

    /// Deletes up to `limit` tombstones of events deleted before `cutoff` and remembers the
    /// highest position purged: a sync token below it would miss deletions, so it gets 410.
    public func purgeTombstones(deletedBefore cutoff: Timestamp, limit: Int) async throws -> Int {
        try await store.transaction { sql in
            let purged = try await sql.raw(
                """
                DELETE FROM event_tombstones WHERE event_id IN (SELECT event_id FROM event_tombstones \
                WHERE deleted_at < \(bind: cutoff.millisecondsSinceEpoch) ORDER BY deleted_at LIMIT \(literal: limit)) \
                RETURNING change_seq
                """
            ).all().map { try $0.decode(column: "change_seq", as: Int64.self) }
            if let highest = purged.max() {
                try await sql.raw(
                    """
                    UPDATE sync_state SET purged_through = CASE WHEN purged_through > \(bind: highest) \
                    THEN purged_through ELSE \(bind: highest) END WHERE id = 1
                    """
                ).run()
            }
            return purged.count
        }
    }
}

/// Positions in the change feed.
enum ChangeCounter {
    /// Takes `count` consecutive positions and returns the first. The counter's row stays
    /// locked until the transaction ends, so transactions holding positions commit in their order.
    static func reserve(_ count: Int, on sql: any SQLDatabase) async throws -> Int64 {
        try await sql.advanceChangeCounter(by: count) - Int64(count) + 1
    }
}
