/// A deleted event as feeds still carry it: STATUS:CANCELLED, one SEQUENCE higher.
public struct CancelledEvent: Sendable, Equatable {
    public var id: Int64
    public var title: String
    public var location: String
    public var startsAt: Timestamp
    public var timeZone: EventTimeZone
    public var isDateOnly: Bool
    public var sequence: Int64
    public var deletedAt: Timestamp

    public init(
        id: Int64, title: String, location: String, startsAt: Timestamp, timeZone: EventTimeZone, isDateOnly: Bool, sequence: Int64,
        deletedAt: Timestamp
    ) {
        self.id = id
        self.title = title
        self.location = location
        self.startsAt = startsAt
        self.timeZone = timeZone
        self.isDateOnly = isDateOnly
        self.sequence = sequence
        self.deletedAt = deletedAt
    }

    public func entry(domain: String, stamp: Timestamp, pageURL: String?) -> CalendarEntry {
        CalendarEntry(
            uid: CalendarEntry.uid(eventID: id, domain: domain), sequence: sequence, stamp: stamp, lastModified: deletedAt,
            start: startsAt, isDateOnly: isDateOnly, zone: timeZone, summary: title, location: location, url: pageURL, cancelled: true)
    }
}

/// One subscriber's calendar: the events of their active subscriptions, each with the
/// subscription's own reminder as its alarm.
public struct PersonalCalendar: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var event: Event
        public var remindBeforeMinutes: Int64

        public init(event: Event, remindBeforeMinutes: Int64) {
            self.event = event
            self.remindBeforeMinutes = remindBeforeMinutes
        }
    }

    public var email: String
    public var items: [Item]
    /// Events of theirs that were deleted (they were sent a cancellation), while remembered.
    public var cancelled: [CancelledEvent]

    public init(email: String, items: [Item], cancelled: [CancelledEvent] = []) {
        self.email = email
        self.items = items
        self.cancelled = cancelled
    }
}

/// What calendar feeds read besides the events themselves.
public protocol CalendarRepository: Sendable {
    /// Deleted events whose tombstones are still kept, starting within the range, by start.
    func cancelled(startingFrom: Timestamp?, until: Timestamp?, limit: Int) async throws -> [CancelledEvent]
    /// The calendar of the subscriber a feed token belongs to; nil for an unknown token.
    func personal(feedToken: String) async throws -> PersonalCalendar?
}
