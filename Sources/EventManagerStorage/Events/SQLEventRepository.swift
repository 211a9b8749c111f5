import EventManagerCore
import SQLKit
import SQLiteNIO

/// `EventRepository` in SQL that both SQLite and PostgreSQL run unchanged.
///
/// Moving or deleting an event reschedules, cancels and announces its mail in the same
/// transaction, as `ReminderPlanner` decides, so the queue never disagrees with the events.
public struct SQLEventRepository: EventRepository {
    let store: DatabaseStore
    let planner: ReminderPlanner
    let queue: QueueWriter
    /// Rows per search term, as last counted or estimated.
    let termRows = SearchTermRows()
    /// Reads of the change counter, shared by concurrent callers (PostgreSQL only).
    let versions: SharedReads<UInt64?>

    public init(store: DatabaseStore, reminders: ReminderSettings = ReminderSettings()) {
        self.store = store
        self.planner = ReminderPlanner(settings: reminders)
        self.queue = QueueWriter(settings: reminders)
        self.versions = SharedReads { try await Self.readVersion(store) }
    }

    static let columns =
        "id, title, location, starts_at, timezone, date_only, popularity, created_at, updated_at, owner_account_id, revision"

    public func create(_ drafts: [EventDraft], owner: Int64?, now: Timestamp) async throws -> [Event] {
        let isSQLite = store.isSQLite
        return try await store.transaction { sql in
            var created: [Event] = []
            created.reserveCapacity(drafts.count)
            let first = try await ChangeCounter.reserve(drafts.count, on: sql)
            for (offset, draft) in drafts.enumerated() {
                let id = try await sql.insertReturningID(
                    """
                    INSERT INTO events (title, location, starts_at, timezone, date_only, popularity, created_at, updated_at, \
                    owner_account_id, change_seq) \
                    VALUES (\(bind: draft.title), \(bind: draft.location), \(bind: draft.startsAt.millisecondsSinceEpoch), \
                    \(bind: draft.timeZone.identifier), \(bind: draft.date.isDay), \(bind: draft.popularity), \
                    \(bind: now.millisecondsSinceEpoch), \(bind: now.millisecondsSinceEpoch), \(bind: owner), \
                    \(bind: first + Int64(offset)))
                    """
                )
                if isSQLite { try await SearchIndex.add(id: id, title: draft.title, location: draft.location, on: sql) }
                var event = Event(draft: draft, id: id, createdAt: now, updatedAt: now)
                event.ownerAccountID = owner
                created.append(event)
            }
            try await WebhookOutbox.enqueue(.eventCreated, now: now, in: sql) { created.map { .event(.eventCreated, $0, at: now) } }
            return created
        }
    }

    public func find(id: Int64) async throws -> Event? {
        try await store.read { sql in
            if let connection = sql.postgresConnection { return try await Self.find(id: id, on: connection, logger: sql.logger) }
            return try await fetch("SELECT \(unsafeRaw: Self.columns) FROM events WHERE id = \(bind: id)", on: sql).first
        }
    }

    /// Events read with `Self.columns`; `prepared` as in `postgresRows`.
    func fetch(_ query: SQLQueryString, prepared: Bool = false) async throws -> [Event] {
        try await store.read { try await fetch(query, prepared: prepared, on: $0) }
    }

    /// Events read with `Self.columns` by position on SQLite (see `sqliteCells`) and PostgreSQL
    /// (see `postgresRows`), through SQLKit otherwise.
    func fetch(_ query: SQLQueryString, prepared: Bool = false, on sql: any SQLDatabase) async throws -> [Event] {
        if let events = try await sql.sqliteRows(query, Self.event(row:)) { return events }
        if let rows = try await sql.sqliteCells(query) { return try rows.map(Self.event(cells:)) }
        if let rows = try await sql.postgresRows(query, prepared: prepared) { return try rows.map(Self.event(postgres:)) }
        return try await sql.raw(query).all().map(Self.event(from:))
    }

    public func update(id: Int64, now: Timestamp, change: @escaping @Sendable (Event) throws -> EventDraft) async throws -> Event {
        let (planner, queue, forUpdate) = (self.planner, self.queue, store.forUpdate)
        return try await store.transaction { sql in
            guard
                let row = try await sql.raw(
                    "SELECT \(unsafeRaw: Self.columns) FROM events WHERE id = \(bind: id)\(forUpdate)"
                ).first()
            else {
                throw AppError.eventNotFound(id)
            }
            let existing = try Self.event(from: row)
            let revision = existing.revision
            let draft = try change(existing)
            let position = try await ChangeCounter.reserve(1, on: sql)
            try await sql.raw(
                """
                UPDATE events SET title = \(bind: draft.title), location = \(bind: draft.location), \
                starts_at = \(bind: draft.startsAt.millisecondsSinceEpoch), timezone = \(bind: draft.timeZone.identifier), \
                date_only = \(bind: draft.date.isDay), popularity = \(bind: draft.popularity), \
                updated_at = \(bind: now.millisecondsSinceEpoch), revision = revision + 1, change_seq = \(bind: position) \
                WHERE id = \(bind: id)
                """
            ).run()
            var updated = Event(draft: draft, id: id, createdAt: existing.createdAt, updatedAt: now)
            updated.ownerAccountID = existing.ownerAccountID
            updated.revision = revision + 1
            let plan = planner.eventChanged(from: existing, to: updated, revision: revision + 1, now: now)
            try await queue.apply(plan, now: now, in: sql)
            try await WebhookOutbox.enqueue(.eventUpdated, now: now, in: sql) { [.event(.eventUpdated, updated, at: now)] }
            return updated
        }
    }

    public func delete(ids: [Int64], now: Timestamp, authorize: @escaping @Sendable (Event) throws -> Void) async throws -> [Int64] {
        guard !ids.isEmpty else { return [] }
        let (planner, queue, forUpdate) = (self.planner, self.queue, store.forUpdate)
        return try await store.transaction { sql in
            let rows = try await sql.raw(
                "SELECT \(unsafeRaw: Self.columns) FROM events WHERE id IN (\(binds: ids))\(forUpdate)"
            ).all()
            let events = try rows.map(Self.event(from:))
            guard !events.isEmpty else { return [] }
            for event in events { try authorize(event) }
            var revisions: [Int64: Int64] = [:]
            for event in events { revisions[event.id] = event.revision }
            try await queue.apply(planner.eventsDeleted(events, revisions: revisions, now: now), now: now, in: sql)
            try await sql.raw("DELETE FROM events WHERE id IN (\(binds: events.map(\.id)))").run()
            try await WebhookOutbox.enqueue(.eventDeleted, now: now, in: sql) { events.map { .event(.eventDeleted, $0, at: now) } }
            // Last: the counter's lock is held from here to the commit.
            let first = try await ChangeCounter.reserve(events.count, on: sql)
            // What the event was, for calendar feeds to carry it as cancelled.
            let tombstones = events.enumerated().map { offset, event -> SQLQueryString in
                """
                (\(bind: event.id), \(bind: first + Int64(offset)), \(bind: now.millisecondsSinceEpoch), \(bind: event.title), \
                \(bind: event.location), \(bind: event.startsAt.millisecondsSinceEpoch), \(bind: event.timeZone.identifier), \
                \(bind: event.isDateOnly), \(bind: event.revision + 1))
                """
            }
            try await sql.raw(
                """
                INSERT INTO event_tombstones (event_id, change_seq, deleted_at, title, location, starts_at, timezone, date_only, revision) \
                VALUES \(tombstones.joined(separator: ", "))
                """
            )
            .run()
            return events.map(\.id)
        }
    }

    public func ping() async throws {
        _ = try await store.read { try await $0.raw("SELECT 1 AS ok").first() }
    }

    static func event(from row: any SQLRow) throws -> Event {
        let zoneName = try row.decode(column: "timezone", as: String.self)
        return Event(
            id: try row.decode(column: "id", as: Int64.self),
            title: try row.decode(column: "title", as: String.self),
            location: try row.decode(column: "location", as: String.self),
            startsAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "starts_at", as: Int64.self)),
            timeZone: EventTimeZone(identifier: zoneName) ?? .utc,
            isDateOnly: try row.decode(column: "date_only", as: Bool.self),
            popularity: try row.decode(column: "popularity", as: Int64.self),
            createdAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "updated_at", as: Int64.self)),
            ownerAccountID: try row.decodeNil(column: "owner_account_id")
                ? nil : try row.decode(column: "owner_account_id", as: Int64.self),
            revision: try row.decode(column: "revision", as: Int64.self)
        )
    }

    /// An event from a row of `Self.columns`, in that order, read where SQLite holds it.
    static func event(row: SQLiteRowReader) throws -> Event {
        Event(
            id: try row.int64(0),
            title: try row.string(1),
            location: try row.string(2),
            startsAt: Timestamp(millisecondsSinceEpoch: try row.int64(3)),
            timeZone: EventTimeZone(identifier: try row.string(4)) ?? .utc,
            isDateOnly: try row.bool(5),
            popularity: try row.int64(6),
            createdAt: Timestamp(millisecondsSinceEpoch: try row.int64(7)),
            updatedAt: Timestamp(millisecondsSinceEpoch: try row.int64(8)),
            ownerAccountID: try row.optionalInt64(9),
            revision: try row.int64(10)
        )
    }

    /// An event from the cells of `Self.columns`, in that order.
    static func event(cells: [SQLiteData]) throws -> Event {
        Event(
            id: try cells[0].int64("id"),
            title: try cells[1].string("title"),
            location: try cells[2].string("location"),
            startsAt: Timestamp(millisecondsSinceEpoch: try cells[3].int64("starts_at")),
            timeZone: EventTimeZone(identifier: try cells[4].string("timezone")) ?? .utc,
            isDateOnly: try cells[5].bool("date_only"),
            popularity: try cells[6].int64("popularity"),
            createdAt: Timestamp(millisecondsSinceEpoch: try cells[7].int64("created_at")),
            updatedAt: Timestamp(millisecondsSinceEpoch: try cells[8].int64("updated_at")),
            ownerAccountID: try cells[9].optionalInt64("owner_account_id"),
            revision: try cells[10].int64("revision")
        )
    }
}

enum StorageError: Error {
    case missingReturnedRow
    /// The database was used after it was shut down.
    case closed
    /// `db.url` could not be read.
    case badURL(String)
    /// A PostgreSQL-only feature was asked of another backend.
    case notPostgres
    /// A SQLite-only path was taken on another backend.
    case notSQLite
}

extension Event {
    init(draft: EventDraft, id: Int64, createdAt: Timestamp, updatedAt: Timestamp) {
        self.init(
            id: id, title: draft.title, location: draft.location, startsAt: draft.startsAt, timeZone: draft.timeZone,
            isDateOnly: draft.date.isDay, popularity: draft.popularity, createdAt: createdAt, updatedAt: updatedAt
        )
    }
}
