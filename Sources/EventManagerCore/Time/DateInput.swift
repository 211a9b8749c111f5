import Foundation

/// A start time as a client wrote it: either a calendar day or an exact instant.
///
/// A calendar day (`2023-10-27`, the seed's format) means midnight of that day in the event's
/// time zone, so it can only be turned into an instant once the zone is known.
public enum DateInput: Equatable, Sendable {
    case day(year: Int64, month: Int64, day: Int64)
    case instant(Timestamp)

    /// Parses `YYYY-MM-DD` or an RFC 3339 date-time with an offset; nil when it is neither.
    public static func parse(_ text: String) -> DateInput? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 10, let year = number(bytes, 0, 4), bytes[4] == UInt8(ascii: "-"),
            let month = number(bytes, 5, 2), bytes[7] == UInt8(ascii: "-"), let day = number(bytes, 8, 2),
            year >= 1, (1...12).contains(month), day >= 1, day <= CivilDate.daysInMonth(year: year, month: month)
        else { return nil }
        if bytes.count == 10 { return .day(year: year, month: month, day: day) }
        guard bytes.count >= 20, [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(bytes[10]),
            let hour = number(bytes, 11, 2), bytes[13] == UInt8(ascii: ":"), let minute = number(bytes, 14, 2),
            bytes[16] == UInt8(ascii: ":"), var second = number(bytes, 17, 2),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        // A leap second is accepted and read as the last second of its minute.
        if second == 60 { second = 59 }
        var index = 19
        var millis: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, isDigit(bytes[index]) {
                if index - start < 3 { millis = millis * 10 + Int64(bytes[index] - 48) }
                index += 1
            }
            let count = index - start
            guard count >= 1 else { return nil }
            if count < 3 { for _ in count..<3 { millis *= 10 } }
        }
        guard index < bytes.count else { return nil }
        var offsetMinutes: Int64 = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = number(bytes, index + 1, 2), index + 3 < bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                let om = number(bytes, index + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
            // An offset must not carry a time out of the years 0001 to 9999 in UTC, and the
            // schema (`DateInput` in openapi.json) can only say so by the date and the sign: no
            // "+" on the first day, no "-" on the last, whatever the time.
            if sign > 0, year == 1, month == 1, day == 1 { return nil }
            if sign < 0, year == 9999, month == 12, day == 31 { return nil }
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = CivilDate.days(year: year, month: month, day: day)
        let local = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
        let instant = Timestamp(millisecondsSinceEpoch: local - offsetMinutes * 60_000)
        guard instant >= Timestamp.minimum, instant <= Timestamp.maximum else { return nil }
        return .instant(instant)
    }

    /// The instant this input names when read in `zone`.
    public func resolve(in zone: EventTimeZone) -> Timestamp {
        switch self {
        case .instant(let timestamp):
            return timestamp
        case .day(let year, let month, let day):
            return zone.startOfDay(year: year, month: month, day: day)
        }
    }

    public var isDay: Bool {
        if case .day = self { return true }
        return false
    }
}

private func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

private func number(_ bytes: [UInt8], _ start: Int, _ count: Int) -> Int64? {
    guard start + count <= bytes.count else { return nil }
    var value: Int64 = 0
    for index in start..<(start + count) {
        guard isDigit(bytes[index]) else { return nil }
        value = value * 10 + Int64(bytes[index] - 48)
    }
    return value
}

/// An IANA time zone that the server knows.
///
/// Validated against the zone database once, so an unknown name is refused at the edge
/// rather than silently read as UTC.
public struct EventTimeZone: Hashable, Sendable {
    public let identifier: String

    public static let utc = EventTimeZone(checked: "UTC")

    private init(checked identifier: String) {
        self.identifier = identifier
    }

    public init?(identifier: String) {
        guard Self.known.contains(identifier) else { return nil }
        self.identifier = identifier
    }

    /// Every zone name the server accepts: Foundation's canonical list, and every name of the
    /// system's IANA database (`/usr/share/zoneinfo`) that Foundation resolves as itself, so
    /// current names (`Asia/Kolkata`), links (`US/Pacific`) and `Etc/` zones are all valid.
    /// Validation and the OpenAPI enum both read this one set.
    public static let known: Set<String> = {
        var names = Set(TimeZone.knownTimeZoneIdentifiers)
        names.insert("UTC")
        for name in zoneDatabaseNames() where !names.contains(name) && TimeZone(identifier: name)?.identifier == name {
            names.insert(name)
        }
        return names
    }()

    /// The zone names of the tz database on this machine: its files, less the variant trees
    /// (`posix/`, `right/`) and the files that are not zones (`zone.tab`, `leapseconds`, ...).
    static func zoneDatabaseNames(root: String = "/usr/share/zoneinfo") -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var names: [String] = []
        while let path = walker.nextObject() as? String {
            if path == "posix" || path == "right" {
                walker.skipDescendants()
                continue
            }
            guard path.first?.isUppercase == true, !path.contains("."), !["Factory", "posixrules"].contains(path) else { continue }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                names.append(path)
            }
        }
        return names
    }

    var foundationZone: TimeZone { TimeZone(identifier: identifier) ?? TimeZone(secondsFromGMT: 0)! }

    /// Midnight of a calendar day in this zone (the first existing instant of that day when a
    /// daylight-saving change skips midnight).
    func startOfDay(year: Int64, month: Int64, day: Int64) -> Timestamp {
        let utcMidnight = CivilDate.days(year: year, month: month, day: day) * 86_400_000
        if identifier == "UTC" {
            return Timestamp(millisecondsSinceEpoch: utcMidnight)
        }
        // Foundation's Gregorian calendar is Julian before 15 October 1582, while every date
        // here (and on the wire) is proleptic Gregorian: early days use the zone's offset on
        // our own day count. Zones had no daylight saving then, so midnight always exists.
        if year < 1583 {
            let guess = utcMidnight - offsetSeconds(at: Timestamp(millisecondsSinceEpoch: utcMidnight)) * 1000
            return Timestamp(millisecondsSinceEpoch: utcMidnight - offsetSeconds(at: Timestamp(millisecondsSinceEpoch: guess)) * 1000)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = foundationZone
        let components = DateComponents(year: Int(year), month: Int(month), day: Int(day))
        let date = calendar.date(from: components).map { calendar.startOfDay(for: $0) } ?? Date(timeIntervalSince1970: 0)
        return Timestamp(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    /// Seconds east of UTC this zone's clocks show at `instant`.
    public func offsetSeconds(at instant: Timestamp) -> Int64 {
        guard identifier != "UTC" else { return 0 }
        return Int64(foundationZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant.millisecondsSinceEpoch) / 1000)))
    }
}
