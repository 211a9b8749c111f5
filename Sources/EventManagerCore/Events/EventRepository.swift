/// Durable storage of events.
///
/// Every method that returns normally has committed its change; the HTTP layer answers 2xx only
/// after that.
public protocol EventRepository: Sendable {
    /// Stores all drafts in one transaction and returns them in the same order, ids assigned.
    func create(_ drafts: [EventDraft], owner: Int64?, now: Timestamp) async throws -> [Event]
    func find(id: Int64) async throws -> Event?
    /// Up to `query.limit + 1` events, so the caller can tell whether another page follows.
    func list(_ query: EventListQuery) async throws -> [Event]
    /// Reads the event and stores the draft `change` builds from it, in one transaction.
    /// - Throws: `AppError.eventNotFound` when there is no such event.
    func update(id: Int64, now: Timestamp, change: @escaping @Sendable (Event) throws -> EventDraft) async throws -> Event
    /// Deletes the events that exist and returns their ids, in one transaction.
    /// `authorize` sees every event before anything is deleted; when it throws, nothing is.
    func delete(ids: [Int64], now: Timestamp, authorize: @escaping @Sendable (Event) throws -> Void) async throws -> [Int64]
    /// Succeeds when the database answers a query.
    func ping() async throws
    /// A number that changes whenever a change to the events commits, when the repository can
    /// tell (it is its database's only writer); nil when it cannot. Answers computed from the
    /// events may be reused while it stays the same.
    var version: UInt64? { get }
    /// The events' version as the database has it now, for repositories that share their
    /// database with other writers (a PostgreSQL API node); `version` when that is known without
    /// asking. Answers read after this call may be reused while it stays the same.
    func currentVersion() async throws -> UInt64?
}

extension EventRepository {
    public var version: UInt64? { nil }

    public func currentVersion() async throws -> UInt64? { version }

    public func create(_ drafts: [EventDraft], now: Timestamp) async throws -> [Event] {
        try await create(drafts, owner: nil, now: now)
    }

    public func delete(ids: [Int64], now: Timestamp) async throws -> [Int64] {
        try await delete(ids: ids, now: now) { _ in }
    }
}
