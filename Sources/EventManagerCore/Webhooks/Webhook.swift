/// What a webhook can be told about.
///
/// The names are the `type` of the body the endpoint receives; an endpoint chooses the types it
/// wants when it is registered, and `webhook.ping` reaches it whenever its owner asks for one.
public enum WebhookEventType: String, Sendable, CaseIterable, Comparable {
    case eventCreated = "event.created"
    case eventUpdated = "event.updated"
    case eventDeleted = "event.deleted"
    case subscriptionCreated = "subscription.created"
    case subscriptionConfirmed = "subscription.confirmed"
    case subscriptionCancelled = "subscription.cancelled"
    case reminderSent = "reminder.sent"
    case reminderFailed = "reminder.failed"
    /// Sent by `POST /webhooks/{id}/ping` only; not something to subscribe to.
    case ping = "webhook.ping"

    /// The types an endpoint may subscribe to.
    public static let subscribable: [WebhookEventType] = allCases.filter { $0 != .ping }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An endpoint an organiser registered.
///
/// Organisers' endpoints hear about their own events (and those events' subscriptions and
/// reminders); admins' endpoints hear about every event.
public struct Webhook: Sendable, Equatable {
    public var id: Int64
    public var accountID: Int64
    public var url: String
    public var eventTypes: [WebhookEventType]
    /// The signing secret, `whsec_` and base64: shown once, when the endpoint is created.
    public var secret: String
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// Set when deliveries stopped: the endpoint answered 410 Gone or failed for too long.
    public var disabledAt: Timestamp?
    public var disabledReason: String?

    public init(
        id: Int64, accountID: Int64, url: String, eventTypes: [WebhookEventType], secret: String, createdAt: Timestamp,
        updatedAt: Timestamp, disabledAt: Timestamp? = nil, disabledReason: String? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.url = url
        self.eventTypes = eventTypes
        self.secret = secret
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.disabledAt = disabledAt
        self.disabledReason = disabledReason
    }

    public var isActive: Bool { disabledAt == nil }

    /// The types as stored: sorted, comma-separated and framed by commas, so that one `LIKE
    /// '%,type,%'` finds the endpoints that want a type.
    public static func storedTypes(_ types: [WebhookEventType]) -> String {
        "," + types.map(\.rawValue).joined(separator: ",") + ","
    }

    public static func types(stored: String) -> [WebhookEventType] {
        stored.split(separator: ",").compactMap { WebhookEventType(rawValue: String($0)) }.sorted()
    }

    /// A new signing secret: 24 random bytes, as Standard Webhooks writes them.
    public static func makeSecret() -> String {
        "whsec_" + RandomToken.standardBase64(bytes: 24)
    }
}

/// One message to one endpoint, and what became of it so far: the endpoint's delivery log.
public struct WebhookMessage: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Waiting for its first or next attempt.
        case pending
        /// Being sent by a worker now (or by one that died, until its lease runs out).
        case sending
        /// The endpoint answered 2xx.
        case delivered
        /// Given up: retries ran out, the endpoint answered 410, or it was disabled.
        case failed
    }

    public var id: Int64
    public var webhookID: Int64
    /// The `webhook-id` header: the same for every attempt, so receivers can drop repeats.
    public var messageID: String
    public var type: WebhookEventType
    /// The body as sent: `{"type", "timestamp", "data"}`.
    public var payload: [UInt8]
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var lastStatus: Int?
    public var lastError: String?
    public var lastLatencyMilliseconds: Int64?
    public var createdAt: Timestamp
    public var deliveredAt: Timestamp?

    public init(
        id: Int64, webhookID: Int64, messageID: String, type: WebhookEventType, payload: [UInt8], state: State, attempts: Int,
        nextAttemptAt: Timestamp, lastStatus: Int? = nil, lastError: String? = nil, lastLatencyMilliseconds: Int64? = nil,
        createdAt: Timestamp, deliveredAt: Timestamp? = nil
    ) {
        self.id = id
        self.webhookID = webhookID
        self.messageID = messageID
        self.type = type
        self.payload = payload
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.lastLatencyMilliseconds = lastLatencyMilliseconds
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
    }
}
