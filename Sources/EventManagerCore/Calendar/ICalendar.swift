/// One VEVENT of an iCalendar object (RFC 5545), as this service writes it.
///
/// Times are written in UTC (`DTSTART:20301027T163000Z`), not with a VTIMEZONE: an instant in
/// UTC means the same to every calendar, while a VTIMEZONE must carry the zone's rules and
/// Outlook and Google each resolve a mismatch between those rules and their own differently.
/// Apple Calendar, Google and Outlook all show a UTC time in the viewer's zone. A date-only
/// event (the seed's `2030-10-27`) is a `VALUE=DATE` day in its own zone, as it was given.
public struct CalendarEntry: Sendable, Equatable {
    /// Stable across every change: `event-<id>@<domain>`.
    public var uid: String
    /// Grows with every change of the event (RFC 5545 3.8.7.4: it must grow when the time or
    /// place changes, and may on any other change): the event's revision.
    public var sequence: Int64
    public var stamp: Timestamp
    public var lastModified: Timestamp
    public var start: Timestamp
    public var isDateOnly: Bool
    public var zone: EventTimeZone
    public var summary: String
    public var location: String
    /// The event's public page.
    public var url: String?
    public var cancelled: Bool
    /// A VALARM this long before the start (the subscriber's own reminder), if any.
    public var alarmMinutes: Int64?

    public init(
        uid: String, sequence: Int64, stamp: Timestamp, lastModified: Timestamp, start: Timestamp, isDateOnly: Bool = false,
        zone: EventTimeZone = .utc, summary: String, location: String, url: String? = nil, cancelled: Bool = false,
        alarmMinutes: Int64? = nil
    ) {
        self.uid = uid
        self.sequence = sequence
        self.stamp = stamp
        self.lastModified = lastModified
        self.start = start
        self.isDateOnly = isDateOnly
        self.zone = zone
        self.summary = summary
        self.location = location
        self.url = url
        self.cancelled = cancelled
        self.alarmMinutes = alarmMinutes
    }

    /// The entry of an event as it is now.
    public static func event(_ event: Event, domain: String, stamp: Timestamp, pageURL: String?, alarmMinutes: Int64? = nil)
        -> CalendarEntry
    {
        CalendarEntry(
            uid: uid(eventID: event.id, domain: domain), sequence: event.revision, stamp: stamp, lastModified: event.updatedAt,
            start: event.startsAt, isDateOnly: event.isDateOnly, zone: event.timeZone, summary: event.title, location: event.location,
            url: pageURL, alarmMinutes: alarmMinutes)
    }

    public static func uid(eventID: Int64, domain: String) -> String { "event-\(eventID)@\(domain)" }
}

/// An iCalendar object: a download, a feed, or an email's attachment.
public struct CalendarDocument: Sendable, Equatable {
    /// `PUBLISH` for downloads, feeds and updates; `CANCEL` for a cancellation (RFC 5546).
    public var method: String?
    /// The feed's name (RFC 7986 `NAME`, and `X-WR-CALNAME` for Apple and Google).
    public var name: String?
    /// How often a subscribed calendar should refresh (RFC 7986 `REFRESH-INTERVAL`).
    public var refreshMinutes: Int?
    /// The sender's address, as `ORGANIZER` of every entry: emails' invitations need one.
    public var organizer: String?
    public var entries: [CalendarEntry]

    public init(
        method: String? = "PUBLISH", name: String? = nil, refreshMinutes: Int? = nil, organizer: String? = nil, entries: [CalendarEntry]
    ) {
        self.method = method
        self.name = name
        self.refreshMinutes = refreshMinutes
        self.organizer = organizer
        self.entries = entries
    }

    public static let mediaType = "text/calendar; charset=utf-8"

    /// The object's bytes: CRLF lines folded at 75 octets.
    public func render() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + entries.count * 400)
        func line(_ text: String) { out += ICalendarText.fold(text) + [13, 10] }
        line("BEGIN:VCALENDAR")
        line("VERSION:2.0")
        line("PRODID:-//event-manager//calendar//EN")
        line("CALSCALE:GREGORIAN")
        if let method { line("METHOD:\(method)") }
        if let name {
            line("NAME:\(ICalendarText.escape(name))")
            line("X-WR-CALNAME:\(ICalendarText.escape(name))")
        }
        if let refreshMinutes {
            line("REFRESH-INTERVAL;VALUE=DURATION:PT\(refreshMinutes)M")
            line("X-PUBLISHED-TTL:PT\(refreshMinutes)M")
        }
        for entry in entries {
            line("BEGIN:VEVENT")
            line("UID:\(ICalendarText.escape(entry.uid))")
            line("SEQUENCE:\(entry.sequence)")
            line("DTSTAMP:\(CivilTime(entry.stamp).iCalendarUTC)")
            line("LAST-MODIFIED:\(CivilTime(entry.lastModified).iCalendarUTC)")
            if entry.isDateOnly {
                let day = CivilTime(entry.start, in: entry.zone)
                let next = CivilTime(entry.start.adding(milliseconds: 86_400_000 + 3_600_000 * 3), in: entry.zone)
                line("DTSTART;VALUE=DATE:\(ICalendarText.date(day))")
                line("DTEND;VALUE=DATE:\(ICalendarText.date(next))")
            } else {
                line("DTSTART:\(CivilTime(entry.start).iCalendarUTC)")
            }
            line("SUMMARY:\(ICalendarText.escape(entry.summary))")
            line("LOCATION:\(ICalendarText.escape(entry.location))")
            if let url = entry.url { line("URL;VALUE=URI:\(url)") }
            if let organizer { line("ORGANIZER;CN=event-manager:mailto:\(organizer)") }
            line("STATUS:\(entry.cancelled ? "CANCELLED" : "CONFIRMED")")
            line("TRANSP:OPAQUE")
            if let minutes = entry.alarmMinutes, !entry.cancelled {
                line("BEGIN:VALARM")
                line("ACTION:DISPLAY")
                line("DESCRIPTION:\(ICalendarText.escape(entry.summary))")
                line("TRIGGER;RELATED=START:-PT\(minutes)M")
                line("END:VALARM")
            }
            line("END:VEVENT")
        }
        line("END:VCALENDAR")
        return out
    }
}

/// RFC 5545 text rules: escaping of TEXT values and folding of content lines.
public enum ICalendarText {
    /// TEXT escaping: backslash, semicolon, comma and newlines; other controls become spaces.
    public static func escape(_ text: String) -> String {
        if text.utf8.allSatisfy({
            $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: ",")
        }) {
            return text
        }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n": out += "\\n"
            case "\r": continue
            default: out.unicodeScalars.append(scalar.properties.generalCategory == .control ? " " : scalar)
            }
        }
        return out
    }

    /// Folds a content line at 75 octets without splitting a UTF-8 sequence (a fold goes only
    /// before a byte that starts a character, never before a continuation byte 10xxxxxx).
    public static func fold(_ line: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(line.utf8.count + 8)
        let bytes = Array(line.utf8)
        var lineLength = 0
        var index = 0
        while index < bytes.count {
            var end = index + 1
            while end < bytes.count && bytes[end] & 0xC0 == 0x80 { end += 1 }
            let width = end - index
            if lineLength + width > 75 {
                out += [13, 10, 32]
                lineLength = 1
            }
            out += bytes[index..<end]
            lineLength += width
            index = end
        }
        return out
    }

    /// An `ATTENDEE` line for an email's invitation: accepted already, no reply wanted.
    public static func attendee(_ email: String) -> [UInt8] {
        fold("ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:\(email.filter { $0 != "\r" && $0 != "\n" })") + [13, 10]
    }

    /// `20301027`.
    static func date(_ time: CivilTime) -> String {
        String(time.iCalendarUTC.prefix(8))
    }
}
