/// `EmailAddress.parse` for addresses of ASCII only, byte by byte in one pass.
extension EmailAddress {
    /// The rules of `parse`, in the order it checks them, each with its message.
    enum Rule: Equatable {
        case spaceOrControl, oneAt, emptyLocal, localTooLong, tooLong, dots, needsQuoting, domainHasNoDot, badDomain

        func message(_ text: String) -> String {
            switch self {
            case .spaceOrControl: return "an email address must not contain spaces or control characters"
            case .oneAt: return "an email address has exactly one '@'"
            case .emptyLocal: return "the part before '@' is empty"
            case .localTooLong: return "the part before '@' is longer than 64 octets (RFC 5321)"
            case .tooLong: return "the address is longer than 254 octets (RFC 5321)"
            case .dots: return "the part before '@' must not start or end with '.' or contain '..'"
            case .needsQuoting: return "the part before '@' contains a character that needs quoting; use a plain address"
            case .domainHasNoDot: return "the domain must contain a dot, e.g. example.com"
            case .badDomain:
                let domain = text.split(separator: "@", omittingEmptySubsequences: false)[1]
                return "'\(domain.prefix(100))' is not a valid domain name"
            }
        }
    }

    /// Characters of the local part that need quoting, which we do not accept.
    static let forbiddenInLocal: Set<UInt8> = Set("()<>,;:\\\"[]".utf8)

    /// For an ASCII `text`: `.some(nil)` when it is valid, `.some(rule)` for the first rule it
    /// breaks; nil when it is not ASCII (then `scalarRuleBroken` decides).
    static func asciiRuleBroken(_ text: String) -> Rule?? {
        var text = text
        return text.withUTF8 { bytes -> Rule?? in
            var at: Int? = nil
            var spaceOrControl = false
            var ats = 0
            for (index, byte) in bytes.enumerated() {
                if byte >= 0x80 { return nil }
                if byte <= 0x20 || byte == 0x7F { spaceOrControl = true }
                if byte == UInt8(ascii: "@") {
                    ats += 1
                    at = index
                }
            }
            if spaceOrControl { return .some(.spaceOrControl) }
            guard ats == 1, let at else { return .some(.oneAt) }
            let local = bytes[..<at]
            let domain = bytes[(at + 1)...]
            if local.isEmpty { return .some(.emptyLocal) }
            if local.count > 64 { return .some(.localTooLong) }
            if bytes.count > 254 { return .some(.tooLong) }
            let dot = UInt8(ascii: ".")
            var previous: UInt8 = 0
            for byte in local {
                if byte == dot && previous == dot { return .some(.dots) }
                previous = byte
            }
            if local.first == dot || local.last == dot { return .some(.dots) }
            if local.contains(where: forbiddenInLocal.contains) { return .some(.needsQuoting) }
            var labels = 1
            for byte in domain where byte == dot { labels += 1 }
            if labels < 2 { return .some(.domainHasNoDot) }
            for label in domain.split(separator: dot, omittingEmptySubsequences: false) {
                guard !label.isEmpty, label.count <= 63, label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
                    label.allSatisfy({ isLetterDigitOrHyphen($0) })
                else { return .some(.badDomain) }
            }
            return .some(nil)
        }
    }

    private static func isLetterDigitOrHyphen(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"):
            return true
        default: return false
        }
    }
}
