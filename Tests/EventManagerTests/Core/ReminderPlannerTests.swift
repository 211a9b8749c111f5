import Testing

@testable import EventManagerCore

/// The reminder rules, without a database: what each change to an event or a subscription
/// means for the queue.
@Suite struct ReminderPlannerTests {
    let planner = ReminderPlanner(settings: ReminderSettings())
    let now = Timestamp(millisecondsSinceEpoch: 1_000_000_000_000)

    func at(minutes: Int64) -> Timestamp { now.adding(milliseconds: minutes * 60_000) }

    func event(startingIn minutes: Int64, location: String = "Hall A", zone: String = "UTC") -> Event {
        Event(
            id: 7, title: "Meetup", location: location, startsAt: at(minutes: minutes), timeZone: EventTimeZone(identifier: zone)!,
            isDateOnly: false, popularity: 0, createdAt: now, updatedAt: now)
    }

    func subscription(_ status: SubscriptionStatus, minutes: Int64 = 30) -> Subscription {
        Subscription(id: 3, eventID: 7, email: "a@example.com", remindBeforeMinutes: minutes, status: status, token: "t", createdAt: now)
    }

    @Test func anUnchangedTimeAndPlaceTouchNothing() {
        var renamed = event(startingIn: 60)
        renamed.title = "Renamed"
        #expect(planner.eventChanged(from: event(startingIn: 60), to: renamed, revision: 2, now: now).isEmpty)
    }

    @Test(arguments: [30, 240]) func aMoveLaterOrEarlierReschedulesAndNotifies(newStart: Int64) {
        let plan = planner.eventChanged(from: event(startingIn: 120), to: event(startingIn: newStart), revision: 2, now: now)
        #expect(plan.steps.count == 3)
        #expect(plan.steps[0] == .cancelStaleReminders(eventID: 7, keeping: at(minutes: newStart), reason: "event moved"))
        #expect(plan.steps[1] == .remindSubscribers(eventID: 7, start: at(minutes: newStart)))
        guard case .notifySubscribers(7, .change, let notice, at(minutes: newStart)) = plan.steps[2] else {
            Issue.record("no change notice: \(plan.steps[2])")
            return
        }
        #expect(notice.previousStartsAt == at(minutes: 120).millisecondsSinceEpoch)
        #expect(notice.previousLocation == nil)
        #expect(notice.revision == 2)
        #expect(plan.wakeAt == now)
    }

    @Test func aMoveIntoThePastCancelsWithoutRescheduling() {
        let plan = planner.eventChanged(from: event(startingIn: 120), to: event(startingIn: -5), revision: 2, now: now)
        #expect(plan.steps.first == .cancelStaleReminders(eventID: 7, keeping: at(minutes: -5), reason: "event moved"))
        #expect(!plan.steps.contains { if case .remindSubscribers = $0 { true } else { false } })
    }

    @Test func aDayEventThatChangesZoneMovesLikeAnyOther() {
        // A calendar-day event moved from UTC to Tokyo starts nine hours earlier.
        let old = event(startingIn: 24 * 60)
        let new = event(startingIn: 15 * 60, zone: "Asia/Tokyo")
        let plan = planner.eventChanged(from: old, to: new, revision: 4, now: now)
        #expect(plan.steps.contains(.remindSubscribers(eventID: 7, start: new.startsAt)))
    }

    @Test func aNewPlaceOnlyNotifies() {
        let plan = planner.eventChanged(from: event(startingIn: 60), to: event(startingIn: 60, location: "Hall B"), revision: 5, now: now)
        #expect(plan.steps.count == 1)
        guard case .notifySubscribers(_, .change, let notice, _) = plan.steps[0] else { return }
        #expect(notice.previousLocation == "Hall A" && notice.previousStartsAt == nil)
    }

    @Test func withoutNoticesAMoveOnlyReschedules() {
        let quiet = ReminderPlanner(settings: ReminderSettings(notifyChanges: false))
        let plan = quiet.eventChanged(from: event(startingIn: 60), to: event(startingIn: 90, location: "B"), revision: 1, now: now)
        #expect(plan.steps.count == 2)
        #expect(quiet.eventChanged(from: event(startingIn: 60), to: event(startingIn: 60, location: "B"), revision: 1, now: now).isEmpty)
    }

    @Test func deletionCancelsAndAnnouncesOnlyEventsNotStarted() {
        let upcoming = event(startingIn: 60)
        var started = event(startingIn: -10)
        started.id = 8
        let plan = planner.eventsDeleted([upcoming, started], revisions: [7: 3, 8: 0], now: now)
        #expect(plan.steps.count == 3)
        #expect(plan.steps[0] == .cancelEventMail(eventID: 7, reason: "event deleted"))
        guard case .notifySubscribers(7, .cancellation, let notice, _) = plan.steps[1] else { return }
        #expect(notice.revision == 4, "a cancellation outranks the last change")
        #expect(plan.steps[2] == .cancelEventMail(eventID: 8, reason: "event deleted"))
    }

    @Test func aStartedEventTakesNoSubscriptions() {
        #expect(throws: AppError.self) { try planner.admitSubscription(eventID: 7, start: now, now: now) }
        #expect(throws: Never.self) { try planner.admitSubscription(eventID: 7, start: at(minutes: 1), now: now) }
    }

    @Test func anActiveSubscriptionIsRemindedAPendingOneAskedToConfirm() {
        let active = planner.subscribed(subscription(.active), start: at(minutes: 120), now: now)
        #expect(active.steps == [.remind(subscriptionID: 3, start: at(minutes: 120))])
        #expect(active.wakeAt == at(minutes: 90))
        let late = planner.subscribed(subscription(.active), start: at(minutes: 10), now: now)
        #expect(late.wakeAt == now, "a reminder whose time has passed is due at once")
        let pending = planner.subscribed(subscription(.pending), start: at(minutes: 120), now: now)
        #expect(pending.steps == [.askConfirmation(subscriptionID: 3, start: at(minutes: 120))])
        #expect(planner.subscribed(subscription(.unsubscribed), start: at(minutes: 120), now: now).isEmpty)
    }

    @Test func confirmationRespectsConsentAndTime() {
        #expect(planner.confirm(subscription(.active), start: at(minutes: 60), now: now) == .alreadyConfirmed)
        #expect(planner.confirm(subscription(.unsubscribed), start: at(minutes: 60), now: now) == .unsubscribed)
        #expect(planner.confirm(subscription(.pending), start: now, now: now) == .eventOver, "confirmed late: the event began")
        #expect(planner.confirm(subscription(.pending), start: nil, now: now) == .eventOver, "the event is gone")
        #expect(
            planner.confirm(subscription(.pending), start: at(minutes: 60), now: now)
                == .confirmed(ReminderPlan(steps: [.remind(subscriptionID: 3, start: at(minutes: 60))], wakeAt: at(minutes: 30))))
    }

    @Test func unsubscribingCancelsTheSubscriptionsMail() {
        #expect(
            planner.unsubscribed(subscription(.pending)).steps == [
                .cancelSubscriptionMail(subscriptionID: 3, reason: "subscriber unsubscribed")
            ])
    }

    @Test func newSubscriptionsStartPendingOnlyWithDoubleOptIn() {
        var settings = ReminderSettings()
        #expect(ReminderPlanner(settings: settings).initialStatus == .active)
        settings.confirmSubscriptions = true
        #expect(ReminderPlanner(settings: settings).initialStatus == .pending)
    }
}
