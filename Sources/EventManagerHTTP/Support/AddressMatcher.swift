/// Whether a socket peer is in a list of addresses and IPv4 CIDR ranges (`10.0.0.0/8`), or `*`.
///
/// Used for `/metrics`: the socket's own peer is asked, never a forwarded address, so nobody can
/// claim to be an allowed client.
package struct AddressMatcher: Sendable {
    private let anyone: Bool
    private let exact: Set<String>
    private let ranges: [(network: UInt32, mask: UInt32)]

    /// Nobody: what an invalid list falls back to.
    static let nobody = AddressMatcher(anyone: false, exact: [], ranges: [])

    /// - Returns: a failure naming the entry when an entry is neither an address, a range nor `*`.
    package static func parse(_ entries: [String]) -> Result<AddressMatcher, InvalidEntry> {
        var anyone = false
        var exact = Set<String>()
        var ranges: [(UInt32, UInt32)] = []
        for entry in entries {
            if entry == "*" {
                anyone = true
            } else if let slash = entry.firstIndex(of: "/") {
                guard let network = ipv4(entry[..<slash]), let bits = Int(entry[entry.index(after: slash)...]), (0...32).contains(bits)
                else {
                    return .failure(InvalidEntry(entry: entry))
                }
                let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
                ranges.append((network & mask, mask))
            } else if ipv4(Substring(entry)) != nil
                || (entry.contains(":") && entry.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }))
            {
                exact.insert(entry.lowercased())
            } else {
                return .failure(InvalidEntry(entry: entry))
            }
        }
        return .success(AddressMatcher(anyone: anyone, exact: exact, ranges: ranges))
    }

    package struct InvalidEntry: Error {
        package let entry: String
    }

    /// Whether `address` (nil when there is no socket) is allowed.
    func allows(_ address: String?) -> Bool {
        if anyone { return true }
        guard let address else { return false }
        if exact.contains(address.lowercased()) { return true }
        guard let value = Self.ipv4(Substring(address)) else { return false }
        return ranges.contains { value & $0.mask == $0.network }
    }

    private static func ipv4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }
}
