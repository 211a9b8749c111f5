/// HTTP's date format (RFC 9110 §5.6.7, IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
///
/// `Last-Modified` and `If-Modified-Since` carry whole seconds in this form; it lives beside the
/// other formats so that every clock reading is formatted in one place.
extension CivilTime {
    public var httpDate: String {
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : String(value) }
        return "\(Self.weekdays[weekday].prefix(3)), \(two(day)) \(Self.months[Int(month) - 1].prefix(3)) \(year) "
            + "\(two(hour)):\(two(minute)):\(two(second)) GMT"
    }
}

extension Timestamp {
    /// The instant an IMF-fixdate names, or nil for anything else (a recipient ignores a
    /// conditional header whose date it cannot read, RFC 9110 §13.1.3).
    public static func httpDate(_ text: String) -> Timestamp? {
        let bytes = Array(text.utf8)
        guard bytes.count == 29, bytes[3] == UInt8(ascii: ","), bytes[4] == UInt8(ascii: " "),
            String(decoding: bytes[25...], as: UTF8.self) == " GMT"
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        let monthName = String(decoding: bytes[8..<11], as: UTF8.self)
        guard let monthIndex = CivilTime.months.firstIndex(where: { $0.prefix(3) == monthName }),
            bytes[7] == UInt8(ascii: " "), bytes[11] == UInt8(ascii: " "), bytes[16] == UInt8(ascii: " "),
            bytes[19] == UInt8(ascii: ":"), bytes[22] == UInt8(ascii: ":"),
            let day = number(5..<7), let year = number(12..<16), let hour = number(17..<19), let minute = number(20..<22),
            let second = number(23..<25), day >= 1, day <= CivilDate.daysInMonth(year: year, month: Int64(monthIndex) + 1),
            hour < 24, minute < 60, second < 61
        else { return nil }
        let days = CivilDate.days(year: year, month: Int64(monthIndex) + 1, day: day)
        return Timestamp(millisecondsSinceEpoch: ((days * 24 + hour) * 60 + minute) * 60_000 + min(second, 59) * 1000)
    }

    /// The instant rounded down to its second, as HTTP dates carry it.
    public var wholeSeconds: Timestamp {
        let ms = millisecondsSinceEpoch
        return Timestamp(millisecondsSinceEpoch: ms - ((ms % 1000) + 1000) % 1000)
    }
}
