/// What happened to one email, as its event's owner sees it.
///
/// Organisers ask "why did my subscriber get no reminder?"; the answer is here: when it was due,
/// when the server took it, how many attempts it needed, and what the server said last.
public struct DeliveryRecord: Sendable, Equatable {
    public var id: Int64
    public var kind: DeliveryKind
    public var eventID: Int64
    public var subscriptionID: Int64
    public var email: String
    public var state: DeliveryState
    public var dueAt: Timestamp
    /// When the mail server accepted it (`250` after the data); nil until then.
    public var sentAt: Timestamp?
    public var attempts: Int
    /// When the next attempt is planned, while it is scheduled.
    public var nextAttemptAt: Timestamp
    /// The mail server's last refusal (or why the worker did not send it); nil when none.
    public var lastReply: String?
    public var messageID: String
    /// When it was queued: a subscription made after its reminder time is due at once.
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: Int64, kind: DeliveryKind, eventID: Int64, subscriptionID: Int64, email: String, state: DeliveryState, dueAt: Timestamp,
        sentAt: Timestamp?, attempts: Int, nextAttemptAt: Timestamp, lastReply: String?, messageID: String, createdAt: Timestamp,
        updatedAt: Timestamp
    ) {
        self.id = id
        self.kind = kind
        self.eventID = eventID
        self.subscriptionID = subscriptionID
        self.email = email
        self.state = state
        self.dueAt = dueAt
        self.sentAt = sentAt
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastReply = lastReply
        self.messageID = messageID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// How long after it could first go out the server accepted it, in milliseconds: from its
    /// due time, or from when it was queued if that was later.
    public var latenessMilliseconds: Int64? {
        sentAt.map { $0.millisecondsSinceEpoch - max(dueAt, createdAt).millisecondsSinceEpoch }
    }
}

/// Which deliveries of an event to list: optionally one state, a page after a cursor.
public struct DeliveryListQuery: Sendable, Equatable {
    public static let defaultLimit = 100
    public static let maxLimit = 1000

    public var eventID: Int64
    public var state: DeliveryState?
    /// The last id of the previous page.
    public var afterID: Int64?
    public var limit: Int

    public init(eventID: Int64, state: DeliveryState? = nil, afterID: Int64? = nil, limit: Int = Self.defaultLimit) {
        self.eventID = eventID
        self.state = state
        self.afterID = afterID
        self.limit = limit
    }

    /// Reads `state`, `limit` and `cursor` (the previous page's last id) from query parameters.
    public static func parse(eventID: Int64, _ parameters: [(String, String)]) throws(AppError) -> DeliveryListQuery {
        var query = DeliveryListQuery(eventID: eventID)
        for (name, value) in parameters {
            switch name {
            case "state":
                guard let state = DeliveryState(rawValue: value) else {
                    let valid = DeliveryState.allCases.map(\.rawValue)
                    throw AppError(
                        .badRequest, code: "invalid_parameter",
                        message: "state must be one of \(valid.joined(separator: ", ")), got '\(value.prefix(64))'",
                        details: .validValues(valid))
                }
                query.state = state
            case "limit":
                guard let limit = Int(value), (1...maxLimit).contains(limit) else {
                    throw AppError.badParameter("limit", value, expected: "an integer from 1 to \(maxLimit)")
                }
                query.limit = limit
            case "cursor":
                guard let after = Int64(value), after > 0 else {
                    throw AppError(.badRequest, code: "invalid_cursor", message: "cursor must be the value a Link: rel=\"next\" gave")
                }
                query.afterID = after
            default:
                throw AppError(
                    .badRequest, code: "unknown_parameter",
                    message: "unexpected query parameter '\(name.prefix(64))'; accepted: state, limit, cursor")
            }
        }
        return query
    }
}

/// Why a retry was refused.
public enum DeliveryRetryRefusal: Error, Sendable, Equatable {
    case notFound
    case notFailed(DeliveryState)
}

/// The record of every email the queue holds, for owners and admins; and the one change they
/// may make to it, a retry of what failed.
public protocol DeliveryLedger: Sendable {
    /// Up to `query.limit + 1` deliveries of the event in id order, so the caller can tell
    /// whether another page follows.
    func deliveries(_ query: DeliveryListQuery) async throws -> [DeliveryRecord]
    func delivery(id: Int64) async throws -> DeliveryRecord?
    /// Schedules a failed delivery again, due at `now`, with a fresh allowance of attempts.
    /// The worker decides again when it claims it (a reminder for an event that has begun is
    /// skipped, not sent late).
    func retry(id: Int64, now: Timestamp) async throws -> Result<DeliveryRecord, DeliveryRetryRefusal>
}
