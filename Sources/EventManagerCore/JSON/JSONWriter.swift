/// Appends JSON text to a byte array.
///
/// Responses are written by hand rather than through `JSONEncoder`: the bytes and the order of
/// members are then fixed, and a single-event read costs one small allocation.
public struct JSONWriter: Sendable {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = value
        // Most text needs no escaping: copy it in one piece when that is so.
        let copied = text.withUTF8 { utf8 -> Bool in
            guard !utf8.contains(where: Self.needsEscape) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if !copied {
            for byte in value.utf8 { escaped(byte) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == 0x7F
    }

    private mutating func escaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            bytes.append(92)
            bytes.append(byte)
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        case 0..<0x20, 0x7F:
            raw("\\u00")
            bytes.append(Self.hex[Int(byte >> 4)])
            bytes.append(Self.hex[Int(byte & 0xF)])
        default: bytes.append(byte)
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    public mutating func integer(_ value: Int64) {
        if value < 0 {
            guard value != .min else {
                bytes.append(contentsOf: String(value).utf8)
                return
            }
            bytes.append(UInt8(ascii: "-"))
            digits(-value, 1)
        } else {
            digits(value, 1)
        }
    }

    public mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// Writes `items` as a JSON array, each with `element`.
    public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A quoted RFC 3339 UTC time, written as digits straight into the bytes: every event in a
    /// listing carries three, and building a `String` for each was a fifth of a page's cost.
    /// Two digits at a time, each a division by the constant 10.
    public mutating func timestamp(_ instant: Timestamp) {
        let time = CivilTime(instant)
        bytes.append(UInt8(ascii: "\""))
        if (0...9999).contains(time.year) {
            twoDigits(time.year / 100)
            twoDigits(time.year % 100)
        } else {
            digits(time.year, 4)
        }
        bytes.append(UInt8(ascii: "-"))
        twoDigits(time.month)
        bytes.append(UInt8(ascii: "-"))
        twoDigits(time.day)
        bytes.append(UInt8(ascii: "T"))
        twoDigits(time.hour)
        bytes.append(UInt8(ascii: ":"))
        twoDigits(time.minute)
        bytes.append(UInt8(ascii: ":"))
        twoDigits(time.second)
        if time.millisecond != 0 {
            bytes.append(UInt8(ascii: "."))
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: time.millisecond / 100))
            twoDigits(time.millisecond % 100)
        }
        bytes.append(UInt8(ascii: "Z"))
        bytes.append(UInt8(ascii: "\""))
    }

    /// `value`, 0 to 99, in two digits.
    @inline(__always) private mutating func twoDigits(_ value: Int64) {
        bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value / 10))
        bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10))
    }

    /// `value` (0 or more) in at least `width` digits, zero-padded.
    ///
    /// Zeros first, then the digits written over them from the last one back: dividing by the
    /// constant 10 is a multiplication, where dividing by a running power of ten was a division
    /// per digit (4 % of a page's CPU), and a copy from a buffer cost as much again.
    private mutating func digits(_ value: Int64, _ width: Int) {
        var rest = UInt64(value)
        var count = 1
        var probe = rest
        while probe >= 10 {
            probe /= 10
            count += 1
        }
        let end = bytes.count + Swift.max(count, width)
        while bytes.count < end { bytes.append(UInt8(ascii: "0")) }
        bytes.withUnsafeMutableBufferPointer { buffer in
            var index = end
            while rest > 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
        }
    }
}
