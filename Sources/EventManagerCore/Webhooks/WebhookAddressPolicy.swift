import Foundation

/// Which network addresses a webhook may be delivered to.
///
/// A webhook URL is chosen by a client, and the worker that calls it sits inside the operator's
/// network: without a rule, anyone with an API key could make it call the database, a cloud
/// metadata service or an admin page on 127.0.0.1 (server-side request forgery). So only public
/// unicast addresses are called, unless the operator sets `webhooks.allow_private` (tests, or a
/// receiver on the same private network). The address checked is the one connected to, after
/// resolution, so a name that resolves to a private address is refused as well.
public struct WebhookAddressPolicy: Sendable, Equatable {
    public var allowPrivate: Bool

    public init(allowPrivate: Bool = false) {
        self.allowPrivate = allowPrivate
    }

    /// Whether an address, as its 4 (IPv4) or 16 (IPv6) bytes, may be called.
    public func permits(_ address: [UInt8]) -> Bool {
        allowPrivate || Self.isPublic(address)
    }

    /// Whether a host name is a loopback name (`localhost`, `*.localhost`, RFC 6761), refused
    /// before resolution.
    public static func isLocalName(_ host: String) -> Bool {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return name == "localhost" || name.hasSuffix(".localhost")
    }

    /// True for global unicast addresses: not loopback, private (RFC 1918, unique local),
    /// shared (100.64/10), link-local, multicast, unspecified, reserved or documentation.
    public static func isPublic(_ address: [UInt8]) -> Bool {
        switch address.count {
        case 4: return isPublicIPv4(address[0], address[1], address[2], address[3])
        case 16: return isPublicIPv6(address)
        default: return false
        }
    }

    static func isPublicIPv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> Bool {
        switch (a, b) {
        case (0, _), (10, _), (127, _): return false  // this network, private, loopback
        case (100, 64...127): return false  // shared address space (carrier-grade NAT)
        case (169, 254): return false  // link-local, cloud metadata
        case (172, 16...31), (192, 168): return false  // private
        case (198, 18...19): return false  // benchmarking
        case (192, 0) where c == 0 || c == 2: return false  // protocol assignments, documentation
        case (198, 51) where c == 100, (203, 0) where c == 113: return false  // documentation
        case (224...255, _): return false  // multicast, reserved, broadcast
        default: return true
        }
    }

    static func isPublicIPv6(_ bytes: [UInt8]) -> Bool {
        // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach an IPv4 address: judge that one.
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return isPublicIPv4(bytes[12], bytes[13], bytes[14], bytes[15])
        }
        if bytes[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] {
            return isPublicIPv4(bytes[12], bytes[13], bytes[14], bytes[15])
        }
        if bytes[0..<12].allSatisfy({ $0 == 0 }) { return false }  // unspecified, loopback, IPv4-compatible
        if bytes[0] & 0xfe == 0xfc { return false }  // unique local fc00::/7
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return false }  // link-local fe80::/10
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0xc0 { return false }  // site-local fec0::/10 (deprecated)
        if bytes[0] == 0xff { return false }  // multicast
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8 { return false }  // documentation
        return true
    }

    /// The bytes of an IPv4 or IPv6 literal (brackets allowed), or nil for a name.
    public static func literal(_ host: String) -> [UInt8]? {
        var text = host
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
