/// A delivery claimed by a worker, with what it needs to decide and render.
public struct ClaimedDelivery: Sendable {
    public var delivery: Delivery
    public var event: Event?
    public var eventRevision: Int64
    public var subscriptionActive: Bool
    public var subscriptionPending: Bool = false
    public var unsubscribeToken: String?
    /// The subscriber's personal calendar feed token, linked from every email.
    public var calendarToken: String?

    public init(
        delivery: Delivery, event: Event?, eventRevision: Int64, subscriptionActive: Bool, subscriptionPending: Bool = false,
        unsubscribeToken: String?, calendarToken: String? = nil
    ) {
        self.calendarToken = calendarToken
        self.delivery = delivery
        self.event = event
        self.eventRevision = eventRevision
        self.subscriptionActive = subscriptionActive
        self.subscriptionPending = subscriptionPending
        self.unsubscribeToken = unsubscribeToken
    }
}

/// How one claimed delivery ended.
public enum DeliveryOutcome: Sendable, Equatable {
    case sent(at: Timestamp)
    case retry(at: Timestamp, error: String)
    case failed(error: String)
    case skipped(String)
    case cancelled(String)
    /// The mail server could not be reached: back to the queue for `at`, without spending an attempt.
    case deferred(at: Timestamp, error: String)
}

/// The durable queue of emails, shared by every worker through the database.
public protocol DeliveryQueue: Sendable {
    /// Leases to `owner` up to `limit` deliveries due by `dueBy` (or whose lease expired at `now`),
    /// earliest first. Claiming a little ahead lets the worker render before the due time.
    func claim(owner: String, limit: Int, now: Timestamp, dueBy: Timestamp, leaseMilliseconds: Int64) async throws -> [ClaimedDelivery]
    /// Records outcomes in one transaction; a delivery whose lease `owner` lost is left alone.
    func complete(_ outcomes: [(id: Int64, outcome: DeliveryOutcome)], owner: String, now: Timestamp) async throws
    /// Extends the lease on deliveries `owner` still holds; returns the ids it still holds.
    func renew(_ ids: [Int64], owner: String, until: Timestamp) async throws -> Set<Int64>
    /// The earliest time a delivery becomes claimable, if any is pending.
    func nextWakeUp() async throws -> Timestamp?
    /// How many deliveries wait: scheduled and being sent. Finished ones are not counted, so
    /// the answer costs the same however long the history is.
    func countsByState() async throws -> [DeliveryState: Int]
    /// Deletes up to `limit` finished deliveries last changed before `cutoff`; returns how many.
    func purge(finishedBefore cutoff: Timestamp, limit: Int) async throws -> Int
    /// Records messages a worker that died had handed over (its acceptance ledger) as sent.
    func recordAccepted(_ accepted: [(id: Int64, at: Timestamp)], now: Timestamp) async throws
    /// Puts back every delivery leased to `owner`, a worker known to be dead, so that it is sent
    /// now rather than when the lease runs out.
    func release(owner: String, now: Timestamp) async throws
}

extension DeliveryQueue {
    /// Leases what is due at `now`.
    public func claim(owner: String, limit: Int, now: Timestamp, leaseMilliseconds: Int64) async throws -> [ClaimedDelivery] {
        try await claim(owner: owner, limit: limit, now: now, dueBy: now, leaseMilliseconds: leaseMilliseconds)
    }
}
