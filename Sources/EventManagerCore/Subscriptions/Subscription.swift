/// Whether a subscription still wants mail.
public enum SubscriptionStatus: String, Sendable {
    case active
    case unsubscribed
    /// Waiting for the subscriber to follow the confirmation link (`subscriptions.confirm`).
    case pending
}

/// One address subscribed to one event.
public struct Subscription: Sendable, Equatable {
    public var id: Int64
    public var eventID: Int64
    public var email: String
    public var remindBeforeMinutes: Int64
    public var status: SubscriptionStatus
    /// Unguessable; lets the subscriber unsubscribe from the links in every email.
    public var token: String
    /// Unguessable too, but it only reads: the subscriber's personal calendar feed.
    public var feedToken: String?
    public var createdAt: Timestamp

    public init(
        id: Int64, eventID: Int64, email: String, remindBeforeMinutes: Int64, status: SubscriptionStatus, token: String,
        feedToken: String? = nil, createdAt: Timestamp
    ) {
        self.feedToken = feedToken
        self.id = id
        self.eventID = eventID
        self.email = email
        self.remindBeforeMinutes = remindBeforeMinutes
        self.status = status
        self.token = token
        self.createdAt = createdAt
    }

    /// When the reminder for an event starting at `start` is due.
    public func remindAt(start: Timestamp) -> Timestamp {
        start.adding(milliseconds: -remindBeforeMinutes * 60_000)
    }
}

/// A validated subscription request.
public struct SubscriptionRequest: Sendable, Equatable {
    public var email: EmailAddress
    public var remindBeforeMinutes: Int64

    public static let minutesRange: ClosedRange<Int64> = 0...40_320

    public init(email: EmailAddress, remindBeforeMinutes: Int64) {
        self.email = email
        self.remindBeforeMinutes = remindBeforeMinutes
    }

    /// Validates `{"email", "remind_before_minutes"?}`; `extraFields` are allowed too (the seed's
    /// `event_id`).
    public static func validate(
        _ body: JSONValue, defaultMinutes: Int64, extraFields: Set<String> = []
    ) -> Result<SubscriptionRequest, AppError> {
        guard case .object(let object) = body else {
            return .failure(
                .validation([FieldError(field: "body", code: "invalid_type", message: "expected a JSON object, got \(body.typeName)")]))
        }
        var errors: [FieldError] = []
        for key in object.keys.sorted() where !["email", "remind_before_minutes"].contains(key) && !extraFields.contains(key) {
            errors.append(
                FieldError(field: key, code: "unknown_field", message: "unknown field '\(key)'; allowed: email, remind_before_minutes"))
        }
        var email: EmailAddress?
        switch object["email"] {
        case nil, .null?:
            errors.append(FieldError(field: "email", code: "required", message: "email is required"))
        case .string(let raw)?:
            switch EmailAddress.parse(raw) {
            case .success(let address): email = address
            case .failure(let error): errors.append(error)
            }
        case let other?:
            errors.append(FieldError(field: "email", code: "invalid_type", message: "expected a string, got \(other.typeName)"))
        }
        var minutes = defaultMinutes
        var given: Int64?
        switch object["remind_before_minutes"] {
        case nil, .null?: break
        case .integer(let value)?: given = value
        case .number(let value)? where value.rounded() == value && abs(value) < 1e15: given = Int64(value)
        case let other?:
            errors.append(
                FieldError(field: "remind_before_minutes", code: "invalid_type", message: "expected an integer, got \(other.typeName)"))
        }
        if let given {
            if minutesRange.contains(given) {
                minutes = given
            } else {
                errors.append(
                    FieldError(
                        field: "remind_before_minutes", code: "out_of_range", message: "must be from 0 to 40320 (28 days), got \(given)")
                )
            }
        }
        guard errors.isEmpty, let email else { return .failure(.validation(errors)) }
        return .success(SubscriptionRequest(email: email, remindBeforeMinutes: minutes))
    }
}
