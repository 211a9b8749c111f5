/// A subscription as the API shows it: with its reminder's time and state.
public struct SubscriptionView: Sendable, Equatable {
    public var subscription: Subscription
    public var remindAt: Timestamp
    public var reminderState: DeliveryState?
}

/// Storage of subscriptions; each change writes its reminders in the same transaction.
public protocol SubscriptionRepository: Sendable {
    /// Subscribes `request.email` to the event, or returns the existing subscription.
    /// - Returns: the subscription and whether it was created (or re-activated) now.
    /// - Throws: `AppError` 404 for an unknown event, 409 `event_started` once it has begun.
    func subscribe(eventID: Int64, request: SubscriptionRequest, now: Timestamp) async throws -> (SubscriptionView, created: Bool)
    /// - Throws: `AppError` 404 for an unknown event.
    func subscriptions(eventID: Int64) async throws -> [SubscriptionView]
    /// Unsubscribes and cancels pending mail; false when no subscription has this token.
    func unsubscribe(token: String, now: Timestamp) async throws -> Bool
    /// Confirms a pending subscription and schedules its reminder; false for an unknown token.
    func confirm(token: String, now: Timestamp) async throws -> Bool
}

/// A delivery claimed by a worker, with what it needs to decide and render.
public struct ClaimedDelivery: Sendable {
    public var delivery: Delivery
    public var event: Event?
    public var eventRevision: Int64
    public var subscriptionActive: Bool
    public var subscriptionPending: Bool = false
    public var unsubscribeToken: String?
    public var remindBeforeMinutes: Int64
}

/// How one claimed delivery ended.
public enum DeliveryOutcome: Sendable, Equatable {
    case sent(at: Timestamp)
    case retry(at: Timestamp, error: String)
    case failed(error: String)
    case skipped(String)
    case cancelled(String)
}

/// The durable queue of emails, shared by every worker through the database.
public protocol DeliveryQueue: Sendable {
    /// Leases up to `limit` deliveries that are due (or whose lease expired) to `owner`.
    func claim(owner: String, limit: Int, now: Timestamp, leaseMilliseconds: Int64) async throws -> [ClaimedDelivery]
    /// Records outcomes in one transaction; a delivery whose lease `owner` lost is left alone.
    func complete(_ outcomes: [(id: Int64, outcome: DeliveryOutcome)], owner: String, now: Timestamp) async throws
    /// Extends the lease on deliveries `owner` still holds; returns the ids it still holds.
    func renew(_ ids: [Int64], owner: String, until: Timestamp) async throws -> Set<Int64>
    /// The earliest time a delivery becomes claimable, if any is pending.
    func nextWakeUp() async throws -> Timestamp?
    /// How many deliveries are in each state.
    func countsByState() async throws -> [DeliveryState: Int]
}
