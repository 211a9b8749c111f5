/// A published event, as stored.
public struct Event: Sendable, Equatable {
    public var id: Int64
    public var title: String
    public var location: String
    public var startsAt: Timestamp
    public var timeZone: EventTimeZone
    /// True when the start was given as a calendar day (midnight in `timeZone`), so that a change
    /// of zone moves the start to midnight of the same day in the new zone.
    public var isDateOnly: Bool
    public var popularity: Int64
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// The account that created the event; nil for events created without a key.
    public var ownerAccountID: Int64?
    /// 0 when created, one more with every change that commits: the event's entity tag, so a
    /// client can tell whether what it holds is current and change only that.
    public var revision: Int64

    public init(
        id: Int64, title: String, location: String, startsAt: Timestamp, timeZone: EventTimeZone, isDateOnly: Bool,
        popularity: Int64, createdAt: Timestamp, updatedAt: Timestamp, ownerAccountID: Int64? = nil, revision: Int64 = 0
    ) {
        self.ownerAccountID = ownerAccountID
        self.revision = revision
        self.id = id
        self.title = title
        self.location = location
        self.startsAt = startsAt
        self.timeZone = timeZone
        self.isDateOnly = isDateOnly
        self.popularity = popularity
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The writable fields as a client would send them back, used as the base of a merge patch.
    var writableDocument: [String: JSONValue] {
        let date: String
        if isDateOnly {
            date = CivilTime(startsAt, in: timeZone).isoDate
        } else {
            date = startsAt.rfc3339
        }
        return [
            "title": .string(title), "location": .string(location), "date": .string(date),
            "timezone": .string(timeZone.identifier), "popularity": .integer(popularity),
        ]
    }
}

/// The validated, writable part of an event: what a create or a full replacement stores.
public struct EventDraft: Sendable, Equatable {
    public var title: String
    public var location: String
    public var date: DateInput
    public var timeZone: EventTimeZone
    public var popularity: Int64

    public init(title: String, location: String, date: DateInput, timeZone: EventTimeZone = .utc, popularity: Int64 = 0) {
        self.title = title
        self.location = location
        self.date = date
        self.timeZone = timeZone
        self.popularity = popularity
    }

    public var startsAt: Timestamp { date.resolve(in: timeZone) }
}
