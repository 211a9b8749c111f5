/// What must happen to the delivery queue after a change, decided without a database.
///
/// The rules of who gets which email when an event is created, moved, relocated or deleted, or
/// a subscription starts, is confirmed or ends, live in `ReminderPlanner` as pure functions over
/// values. Storage carries a plan out inside the transaction that made the change, one set-based
/// statement per step, so the queue never disagrees with the events and subscriptions it serves.
public struct ReminderPlan: Sendable, Equatable {
    /// One set-based change to the queue.
    public enum Step: Sendable, Equatable {
        /// Cancels the event's scheduled reminders made for a start other than `keeping`.
        case cancelStaleReminders(eventID: Int64, keeping: Timestamp, reason: String)
        /// Cancels every scheduled email of the event: reminders and notices alike.
        case cancelEventMail(eventID: Int64, reason: String)
        /// Cancels the scheduled emails of one subscription.
        case cancelSubscriptionMail(subscriptionID: Int64, reason: String)
        /// Gives every active subscriber of the event a reminder for `start`: one cancelled or
        /// skipped for that start comes back, one already sent or scheduled is left alone.
        case remindSubscribers(eventID: Int64, start: Timestamp)
        /// The same for one subscription.
        case remind(subscriptionID: Int64, start: Timestamp)
        /// Queues `notice`, due now, for every active subscriber of the event.
        case notifySubscribers(eventID: Int64, kind: DeliveryKind, notice: NoticeSnapshot, start: Timestamp)
        /// Queues the double opt-in email of one pending subscription, due now.
        case askConfirmation(subscriptionID: Int64, start: Timestamp)
    }

    public var steps: [Step]
    /// The earliest moment new mail of this plan can fall due; the worker is woken when that is
    /// sooner than its next look at the queue. Nil when the plan schedules nothing.
    public var wakeAt: Timestamp?

    public init(steps: [Step] = [], wakeAt: Timestamp? = nil) {
        self.steps = steps
        self.wakeAt = wakeAt
    }

    public var isEmpty: Bool { steps.isEmpty }

    mutating func append(_ step: Step, wake: Timestamp? = nil) {
        steps.append(step)
        if let wake { wakeAt = min(wakeAt ?? wake, wake) }
    }
}

/// The reminder rules: what each change to an event or a subscription means for the queue.
public struct ReminderPlanner: Sendable {
    public var settings: ReminderSettings

    public init(settings: ReminderSettings) {
        self.settings = settings
    }

    /// An event was replaced or patched. Moving it reschedules every unsent reminder for the new
    /// start (subscribers reminded of the old time are reminded again); moving or relocating it
    /// sends a notice; other changes touch nothing.
    ///
    /// - Parameter revision: the event's revision after the change (the calendar SEQUENCE).
    public func eventChanged(from old: Event, to new: Event, revision: Int64, now: Timestamp) -> ReminderPlan {
        let moved = old.startsAt != new.startsAt
        let relocated = old.location != new.location
        var plan = ReminderPlan()
        guard moved || relocated else { return plan }
        if moved {
            plan.append(.cancelStaleReminders(eventID: new.id, keeping: new.startsAt, reason: "event moved"))
            if now < new.startsAt {
                // The earliest reminder can be due at once (a subscriber asked for more notice than is left).
                plan.append(.remindSubscribers(eventID: new.id, start: new.startsAt), wake: now)
            }
        }
        if settings.notifyChanges {
            let notice = NoticeSnapshot(
                title: new.title, location: new.location, startsAt: new.startsAt.millisecondsSinceEpoch,
                timeZone: new.timeZone.identifier, previousLocation: relocated ? old.location : nil,
                previousStartsAt: moved ? old.startsAt.millisecondsSinceEpoch : nil, revision: revision
            )
            plan.append(.notifySubscribers(eventID: new.id, kind: .change, notice: notice, start: new.startsAt), wake: now)
        }
        return plan
    }

    /// Events are about to be deleted: their pending mail is cancelled, and subscribers of those
    /// not yet started get a cancellation notice.
    ///
    /// - Parameter revisions: each event's revision before the deletion.
    public func eventsDeleted(_ events: [Event], revisions: [Int64: Int64], now: Timestamp) -> ReminderPlan {
        var plan = ReminderPlan()
        for event in events {
            plan.append(.cancelEventMail(eventID: event.id, reason: "event deleted"))
            guard settings.notifyChanges, now < event.startsAt else { continue }
            let notice = NoticeSnapshot(
                title: event.title, location: event.location, startsAt: event.startsAt.millisecondsSinceEpoch,
                timeZone: event.timeZone.identifier, revision: (revisions[event.id] ?? 0) + 1
            )
            plan.append(.notifySubscribers(eventID: event.id, kind: .cancellation, notice: notice, start: event.startsAt), wake: now)
        }
        return plan
    }

    /// Whether an event starting at `start` still takes subscriptions.
    /// - Throws: `AppError` 409 `event_started` once it has begun.
    public func admitSubscription(eventID: Int64, start: Timestamp, now: Timestamp) throws(AppError) {
        guard now < start else {
            throw AppError(
                .conflict, code: "event_started", message: "event \(eventID) started at \(start.rfc3339); it takes no more subscriptions")
        }
    }

    /// The status a new (or returning) subscription starts in.
    public var initialStatus: SubscriptionStatus { settings.confirmSubscriptions ? .pending : .active }

    /// A subscription was created, or an unsubscribed one came back: a pending one is asked to
    /// confirm, an active one gets its reminder (at once when its time has passed).
    public func subscribed(_ subscription: Subscription, start: Timestamp, now: Timestamp) -> ReminderPlan {
        var plan = ReminderPlan()
        switch subscription.status {
        case .pending:
            plan.append(.askConfirmation(subscriptionID: subscription.id, start: start), wake: now)
        case .active:
            plan.append(.remind(subscriptionID: subscription.id, start: start), wake: max(subscription.remindAt(start: start), now))
        case .unsubscribed:
            break
        }
        return plan
    }

    /// The subscriber asked to stop: pending or active, the subscription ends and its mail is cancelled.
    public func unsubscribed(_ subscription: Subscription) -> ReminderPlan {
        ReminderPlan(steps: [.cancelSubscriptionMail(subscriptionID: subscription.id, reason: "subscriber unsubscribed")])
    }

    /// What following a confirmation link does.
    public enum Confirmation: Sendable, Equatable {
        /// The subscription is now active; the plan schedules its reminder.
        case confirmed(ReminderPlan)
        /// Confirmed before: nothing changes.
        case alreadyConfirmed
        /// The subscriber unsubscribed: a confirmation link cannot undo that.
        case unsubscribed
        /// The event has started (or is gone): there is nothing left to remind of.
        case eventOver
    }

    /// Decides a confirmation. Only a pending subscription of an event that has not started is
    /// confirmed; consent withdrawn by unsubscribing is never turned back on by an old link.
    ///
    /// - Parameter start: the event's start, nil when the event is gone.
    public func confirm(_ subscription: Subscription, start: Timestamp?, now: Timestamp) -> Confirmation {
        switch subscription.status {
        case .active: return .alreadyConfirmed
        case .unsubscribed: return .unsubscribed
        case .pending:
            guard let start, now < start else { return .eventOver }
            var active = subscription
            active.status = .active
            return .confirmed(subscribed(active, start: start, now: now))
        }
    }
}
