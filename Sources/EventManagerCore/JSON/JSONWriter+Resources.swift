/// The service's resources as JSON, the one place that says what an event, a subscription and
/// a delivery look like on the wire: the API answers and webhook bodies both use it, so a
/// receiver sees the same resource a `GET` shows.
extension JSONWriter {
    /// An event as `GET /events/{id}` shows it.
    /// Events as a JSON array. Not `array(_:_:)`: that one is generic and, called from another
    /// module, copied each event out of the array (a retain and a release of each of its
    /// strings, 2 % of a page's CPU).
    public mutating func events(_ events: [Event]) {
        bytes.append(UInt8(ascii: "["))
        for index in events.indices {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            event(events[index])
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func event(_ event: Event) {
        raw("{\"id\":")
        integer(event.id)
        raw(",\"title\":")
        string(event.title)
        raw(",\"location\":")
        string(event.location)
        raw(",\"date\":")
        timestamp(event.startsAt)
        raw(",\"timezone\":")
        string(event.timeZone.identifier)
        raw(",\"popularity\":")
        integer(event.popularity)
        raw(",\"created_at\":")
        timestamp(event.createdAt)
        raw(",\"updated_at\":")
        timestamp(event.updatedAt)
        raw("}")
    }

    /// A subscription as the API shows it: never its token.
    public mutating func subscription(_ view: SubscriptionView) {
        let subscription = view.subscription
        raw("{\"id\":")
        integer(subscription.id)
        raw(",\"event_id\":")
        integer(subscription.eventID)
        raw(",\"email\":")
        string(subscription.email)
        raw(",\"remind_before_minutes\":")
        integer(subscription.remindBeforeMinutes)
        raw(",\"remind_at\":")
        string(view.remindAt.rfc3339)
        raw(",\"status\":")
        string(subscription.status.rawValue)
        raw(",\"reminder_state\":")
        if let state = view.reminderState { string(state.rawValue) } else { raw("null") }
        raw(",\"created_at\":")
        string(subscription.createdAt.rfc3339)
        raw("}")
    }

    /// A delivery as the ledger shows it (and as webhooks will carry it).
    public mutating func delivery(_ record: DeliveryRecord) {
        raw("{\"id\":")
        integer(record.id)
        raw(",\"kind\":")
        string(record.kind.rawValue)
        raw(",\"event_id\":")
        integer(record.eventID)
        raw(",\"subscription_id\":")
        integer(record.subscriptionID)
        raw(",\"email\":")
        string(record.email)
        raw(",\"state\":")
        string(record.state.rawValue)
        raw(",\"due_at\":")
        timestamp(record.dueAt)
        raw(",\"sent_at\":")
        if let sentAt = record.sentAt { timestamp(sentAt) } else { raw("null") }
        raw(",\"lateness_ms\":")
        if let lateness = record.latenessMilliseconds { integer(lateness) } else { raw("null") }
        raw(",\"attempts\":")
        integer(Int64(record.attempts))
        raw(",\"next_attempt_at\":")
        if record.state == .scheduled { timestamp(record.nextAttemptAt) } else { raw("null") }
        raw(",\"last_reply\":")
        if let reply = record.lastReply { string(reply) } else { raw("null") }
        raw(",\"message_id\":")
        string(record.messageID)
        raw(",\"updated_at\":")
        timestamp(record.updatedAt)
        raw("}")
    }
}
