/// A subscription as the API shows it: with its reminder's time and state.
public struct SubscriptionView: Sendable, Equatable {
    public var subscription: Subscription
    public var remindAt: Timestamp
    public var reminderState: DeliveryState?

    public init(subscription: Subscription, remindAt: Timestamp, reminderState: DeliveryState?) {
        self.subscription = subscription
        self.remindAt = remindAt
        self.reminderState = reminderState
    }
}

/// Storage of subscriptions; each change writes its reminders in the same transaction.
public protocol SubscriptionRepository: Sendable {
    /// Subscribes `request.email` to the event, or returns the existing subscription.
    /// - Returns: the subscription and whether it was created (or re-activated) now.
    /// - Throws: `AppError` 404 for an unknown event, 409 `event_started` once it has begun.
    func subscribe(eventID: Int64, request: SubscriptionRequest, now: Timestamp) async throws -> (SubscriptionView, created: Bool)
    /// - Throws: `AppError` 404 for an unknown event.
    func subscriptions(eventID: Int64) async throws -> [SubscriptionView]
    /// The address's pending or active subscription to the event, if any (without locking: a
    /// hint that lets a repeated request skip the limits on new subscriptions).
    func existing(eventID: Int64, email: EmailAddress) async throws -> SubscriptionView?
    /// Unsubscribes (pending or active) and cancels pending mail; false when no subscription has this token.
    func unsubscribe(token: String, now: Timestamp) async throws -> Bool
    /// Confirms a pending subscription and schedules its reminder, as `ReminderPlanner.confirm`
    /// decides; nil for an unknown token.
    func confirm(token: String, now: Timestamp) async throws -> ReminderPlanner.Confirmation?
}
