/// An instant as a wall clock shows it at a fixed offset from UTC: the one place civil time is
/// computed and formatted (RFC 3339 on the wire, RFC 5322 in mail headers, iCalendar, and the
/// human form in emails), so every format agrees on the same arithmetic.
public struct CivilTime: Sendable, Equatable {
    public var year: Int64
    public var month: Int64
    public var day: Int64
    public var hour: Int64
    public var minute: Int64
    public var second: Int64
    public var millisecond: Int64
    /// 0 is Sunday ... 6 is Saturday.
    public var weekday: Int
    /// Seconds east of UTC the fields are shown at.
    public var offsetSeconds: Int64

    /// `instant` shown at `offsetSeconds` east of UTC (0: UTC).
    public init(_ instant: Timestamp, offsetSeconds: Int64 = 0) {
        let local = instant.millisecondsSinceEpoch + offsetSeconds * 1000
        let days = local >= 0 ? local / 86_400_000 : (local - 86_399_999) / 86_400_000
        let msOfDay = local - days * 86_400_000
        (year, month, day) = CivilDate.fromDays(days)
        hour = msOfDay / 3_600_000
        minute = msOfDay / 60_000 % 60
        second = msOfDay / 1000 % 60
        millisecond = msOfDay % 1000
        // 1970-01-01 was a Thursday.
        weekday = Int(((days + 4) % 7 + 7) % 7)
        self.offsetSeconds = offsetSeconds
    }

    /// `instant` on the wall clocks of `zone`.
    public init(_ instant: Timestamp, in zone: EventTimeZone) {
        self.init(instant, offsetSeconds: zone.offsetSeconds(at: instant))
    }

    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]

    /// `2023-10-27`.
    public var isoDate: String { pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) }

    /// RFC 3339 of a UTC civil time, milliseconds only when not zero: `2023-10-27T00:00:00Z`.
    public var rfc3339: String {
        var out = isoDate
        out.reserveCapacity(24)
        out += "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2)
        if millisecond != 0 { out += "." + pad(millisecond, 3) }
        return out + "Z"
    }

    /// RFC 5322 date of a UTC civil time: `Thu, 26 Nov 2026 21:17:08 +0000`.
    public var rfc5322: String {
        "\(Self.weekdays[weekday].prefix(3)), \(day) \(Self.months[Int(month) - 1].prefix(3)) \(year) "
            + pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2) + " +0000"
    }

    /// iCalendar UTC date-time (RFC 5545 3.3.5): `20301027T183000Z`.
    public var iCalendarUTC: String {
        pad(year, 4) + pad(month, 2) + pad(day, 2) + "T" + pad(hour, 2) + pad(minute, 2) + pad(second, 2) + "Z"
    }

    /// For people, naming the zone: `Sunday 27 October 2030, 18:30 (Asia/Jerusalem)`.
    public static func spoken(_ instant: Timestamp, in zone: EventTimeZone) -> String {
        "\(CivilTime(instant, in: zone).spoken) (\(zone.identifier))"
    }

    /// For people: `Sunday 27 October 2030, 18:30`.
    public var spoken: String {
        "\(Self.weekdays[weekday]) \(day) \(Self.months[Int(month) - 1]) \(year), " + pad(hour, 2) + ":" + pad(minute, 2)
    }
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
