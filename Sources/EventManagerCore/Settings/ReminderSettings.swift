/// What the reminder store needs to know that is not in the rows.
public struct ReminderSettings: Sendable {
    /// Minutes before the start when a subscription does not say (`reminders.default_minutes`).
    public var defaultMinutes: Int64 = 30
    /// Send change and cancellation notices (`reminders.notify_changes`).
    public var notifyChanges = true
    /// The right-hand side of generated Message-IDs.
    public var messageIDDomain = "event-manager.invalid"
    /// Double opt-in (`subscriptions.confirm`): remind only after the address is confirmed.
    public var confirmSubscriptions = false
    /// On PostgreSQL: a write that makes mail due within this many milliseconds sends
    /// `NOTIFY event_manager_queue`, waking sleeping workers on every node. Nil sends none.
    public var notifyWithinMilliseconds: Int64?

    public init(defaultMinutes: Int64 = 30, notifyChanges: Bool = true, messageIDDomain: String = "event-manager.invalid") {
        self.defaultMinutes = defaultMinutes
        self.notifyChanges = notifyChanges
        self.messageIDDomain = messageIDDomain
    }
}
