/// Something that happened, as webhooks tell it: written to the outbox in the same transaction
/// as the change itself, so a committed change is always announced and a rolled-back one never.
public struct WebhookNotice: Sendable, Equatable {
    public var type: WebhookEventType
    /// The account whose event it concerns: its endpoints hear of it (admins' always do).
    public var ownerAccountID: Int64?
    /// The `webhook-id` every endpoint receives for this notice, across all attempts.
    public var messageID: String
    /// The body: `{"type", "timestamp", "data"}`, `data` the whole resource, so a receiver
    /// needs no call back.
    public var payload: [UInt8]

    public init(type: WebhookEventType, ownerAccountID: Int64?, messageID: String = Self.makeMessageID(), payload: [UInt8]) {
        self.type = type
        self.ownerAccountID = ownerAccountID
        self.messageID = messageID
        self.payload = payload
    }

    /// `msg_` and 128 random bits.
    public static func makeMessageID() -> String { "msg_" + RandomToken.make(bytes: 16) }

    /// A notice whose `data` `write` produces.
    public static func make(
        _ type: WebhookEventType, owner: Int64?, at timestamp: Timestamp, data write: (inout JSONWriter) -> Void
    ) -> WebhookNotice {
        var writer = JSONWriter(capacity: 384)
        writer.raw("{\"type\":")
        writer.string(type.rawValue)
        writer.raw(",\"timestamp\":")
        writer.timestamp(timestamp)
        writer.raw(",\"data\":")
        write(&writer)
        writer.raw("}")
        return WebhookNotice(type: type, ownerAccountID: owner, payload: writer.bytes)
    }

    public static func event(_ type: WebhookEventType, _ event: Event, at timestamp: Timestamp) -> WebhookNotice {
        make(type, owner: event.ownerAccountID, at: timestamp) { $0.event(event) }
    }

    public static func subscription(_ type: WebhookEventType, _ view: SubscriptionView, owner: Int64?, at timestamp: Timestamp)
        -> WebhookNotice
    {
        make(type, owner: owner, at: timestamp) { $0.subscription(view) }
    }

    /// `reminder.sent` or `reminder.failed` for a reminder that reached that state.
    public static func reminder(_ record: DeliveryRecord, owner: Int64?, at timestamp: Timestamp) -> WebhookNotice? {
        guard record.kind == .reminder else { return nil }
        let type: WebhookEventType
        switch record.state {
        case .sent: type = .reminderSent
        case .failed: type = .reminderFailed
        default: return nil
        }
        return make(type, owner: owner, at: timestamp) { $0.delivery(record) }
    }
}
