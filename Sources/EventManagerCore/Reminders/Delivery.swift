/// What a queued email is about.
public enum DeliveryKind: String, Sendable, CaseIterable {
    /// The reminder before the event starts.
    case reminder
    /// The event's time or place changed.
    case change
    /// The event was deleted.
    case cancellation
    /// Asks a new subscriber to confirm the address (double opt-in).
    case confirmation
}

/// Where a queued email is in its life.
public enum DeliveryState: String, Sendable, CaseIterable {
    case scheduled
    case sending
    case sent
    case failed
    case cancelled
    case skipped
}

/// What subscribers are told in a change or cancellation notice, captured when the change is
/// made (the event may be gone by the time the notice is sent).
public struct NoticeSnapshot: Sendable, Equatable, Codable {
    public var title: String
    public var location: String
    public var startsAt: Int64
    public var timeZone: String
    public var previousLocation: String?
    public var previousStartsAt: Int64?
    /// The event's revision after the change (the calendar SEQUENCE).
    public var revision: Int64

    public init(
        title: String, location: String, startsAt: Int64, timeZone: String, previousLocation: String? = nil,
        previousStartsAt: Int64? = nil, revision: Int64 = 0
    ) {
        self.revision = revision
        self.title = title
        self.location = location
        self.startsAt = startsAt
        self.timeZone = timeZone
        self.previousLocation = previousLocation
        self.previousStartsAt = previousStartsAt
    }
}

/// One email in the durable queue.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    public var kind: DeliveryKind
    public var subscriptionID: Int64
    public var eventID: Int64
    public var email: String
    /// For reminders: the event start this reminder was scheduled for.
    public var eventStartsAt: Timestamp
    public var dueAt: Timestamp
    public var state: DeliveryState
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    /// Stable across retries, so a receiver can drop a duplicate.
    public var messageID: String
    public var notice: NoticeSnapshot?

    public init(
        id: Int64, kind: DeliveryKind, subscriptionID: Int64, eventID: Int64, email: String, eventStartsAt: Timestamp,
        dueAt: Timestamp, state: DeliveryState, attempts: Int, nextAttemptAt: Timestamp, messageID: String, notice: NoticeSnapshot?
    ) {
        self.id = id
        self.kind = kind
        self.subscriptionID = subscriptionID
        self.eventID = eventID
        self.email = email
        self.eventStartsAt = eventStartsAt
        self.dueAt = dueAt
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.messageID = messageID
        self.notice = notice
    }
}

/// What the worker does with a claimed delivery, decided from the event as it is now.
public enum DeliveryDecision: Equatable, Sendable {
    case send
    /// The reminder would arrive after the event began: never send late.
    case skip(String)
    /// The reminder no longer applies (event deleted or moved, subscriber gone).
    case cancel(String)

    public static func decide(
        _ delivery: Delivery, event: Event?, subscriptionActive: Bool, subscriptionPending: Bool = false, now: Timestamp
    ) -> DeliveryDecision {
        if delivery.kind == .confirmation {
            return subscriptionPending ? .send : .cancel("subscription no longer awaits confirmation")
        }
        guard delivery.kind == .reminder else {
            return subscriptionActive || delivery.kind == .cancellation ? .send : .cancel("subscriber unsubscribed")
        }
        guard let event else { return .cancel("event deleted") }
        guard subscriptionActive else { return .cancel("subscriber unsubscribed") }
        guard event.startsAt == delivery.eventStartsAt else { return .cancel("event moved") }
        guard now < event.startsAt else { return .skip("event already started") }
        return .send
    }
}

/// When to try a failed delivery again: exponential backoff with jitter, then give up.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseDelayMilliseconds: Int64
    public var maxDelayMilliseconds: Int64

    public init(maxAttempts: Int = 8, baseDelayMilliseconds: Int64 = 15_000, maxDelayMilliseconds: Int64 = 3_600_000) {
        self.maxAttempts = maxAttempts
        self.baseDelayMilliseconds = baseDelayMilliseconds
        self.maxDelayMilliseconds = maxDelayMilliseconds
    }

    /// The delay after failed attempt number `attempt` (1-based), with `jitter` in 0...1 taking
    /// up to half of it away so that many failures do not retry in lockstep.
    public func delay(afterAttempt attempt: Int, jitter: Double) -> Int64 {
        let exponent = min(max(attempt - 1, 0), 30)
        let full = min(maxDelayMilliseconds, baseDelayMilliseconds.multipliedReportingOverflow(by: 1 << exponent).partialValue)
        let capped = full <= 0 ? maxDelayMilliseconds : full
        return capped - Int64(Double(capped) * 0.5 * min(max(jitter, 0), 1))
    }
}
