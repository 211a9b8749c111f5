import EventManagerCore

/// Which address a request comes from: the socket's peer, or the client a trusted proxy names.
public enum ClientAddress {
    /// `X-Forwarded-For` is read right to left, skipping trusted proxies, and only when the peer
    /// itself is trusted; otherwise anyone could pick the address they are limited as.
    public static func resolve(peer: String?, forwardedFor: String?, trustedProxies: Set<String>) -> String {
        guard let peer else { return "unknown" }
        guard trustedProxies.contains(peer), let forwardedFor else { return peer }
        let hops = forwardedFor.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        for hop in hops.reversed() where !trustedProxies.contains(hop) {
            return hop
        }
        return hops.first ?? peer
    }
}
