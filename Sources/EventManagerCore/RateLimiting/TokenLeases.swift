import Synchronization

/// A node's unspent share of budgets kept elsewhere (the shared `rate_limits` table), so that a
/// busy client costs the database one write per chunk of requests instead of one per request.
///
/// A node reserves tokens from the shared budget in chunks and spends them locally. The chunk
/// adapts per key: a key that comes back for more within `hotWindowMilliseconds` gets twice as
/// many next time, up to `maximumChunk(for:)`; a quiet key gets one, so rarely used keys (a
/// subscriber's address, "5 per hour") behave exactly as before. Reserved tokens are debited
/// from the shared budget when reserved, so no node can spend tokens another node also spends;
/// unspent ones expire after `lifetimeMilliseconds`. A token is therefore spent at most that long
/// after the shared budget counted it, which is the whole of the error: across any number of
/// nodes, a client gets at most its limit plus `lifetimeMilliseconds` worth of its rate in any
/// period, and unspent expired tokens only make nodes stricter.
public final class TokenLeases: Sendable {
    /// How long reserved tokens may wait to be spent.
    public let lifetimeMilliseconds: Int64
    /// A key reserving again within this time is hot: its next chunk doubles.
    public let hotWindowMilliseconds: Int64
    /// The most tokens a node reserves at once for one key.
    public let chunkCeiling: Int

    struct Lease {
        var tokens: Int
        var expiresAt: Int64
        var lastReservedAt: Int64
        var lastChunk: Int
        /// The shared budget's answer at the last reservation; spending adjusts `remaining`.
        var decision: RateLimitDecision
    }

    private let leases = Mutex<[String: Lease]>([:])
    static let maxKeys = 100_000

    public init(lifetimeMilliseconds: Int64 = 1000, hotWindowMilliseconds: Int64 = 250, chunkCeiling: Int = 64) {
        self.lifetimeMilliseconds = lifetimeMilliseconds
        self.hotWindowMilliseconds = hotWindowMilliseconds
        self.chunkCeiling = chunkCeiling
    }

    /// The largest chunk for these limits: a sixteenth of the smallest limit, at most
    /// `chunkCeiling`, so a node never holds a noticeable part of any budget.
    public func maximumChunk(for limits: [RateLimit]) -> Int {
        max(1, min(chunkCeiling, (limits.map(\.count).min() ?? 1) / 16))
    }

    /// Spends one reserved token for `key`, answering as the last reservation did; nil when the
    /// node holds none (reserve first).
    public func spend(_ key: String, now: Timestamp) -> RateLimitDecision? {
        let nowMs = now.millisecondsSinceEpoch
        return leases.withLock { leases in
            guard var lease = leases[key], lease.tokens > 0, nowMs < lease.expiresAt else { return nil }
            lease.tokens -= 1
            leases[key] = lease
            var decision = lease.decision
            decision.remaining += lease.tokens
            return decision
        }
    }

    /// How many tokens to ask the shared budget for now.
    public func chunk(for key: String, limits: [RateLimit], now: Timestamp) -> Int {
        let nowMs = now.millisecondsSinceEpoch
        let ceiling = maximumChunk(for: limits)
        return leases.withLock { leases in
            guard let lease = leases[key], nowMs - lease.lastReservedAt < hotWindowMilliseconds else { return 1 }
            return min(ceiling, lease.lastChunk * 2)
        }
    }

    /// Keeps what a reservation granted beyond the token spent by the request that asked for it.
    public func granted(_ tokens: Int, for key: String, decision: RateLimitDecision, limits: [RateLimit], now: Timestamp) {
        let nowMs = now.millisecondsSinceEpoch
        let ceiling = maximumChunk(for: limits)
        leases.withLock { leases in
            if leases.count >= Self.maxKeys { leases = leases.filter { nowMs - $0.value.lastReservedAt < hotWindowMilliseconds } }
            var lease = leases[key] ?? Lease(tokens: 0, expiresAt: 0, lastReservedAt: nowMs, lastChunk: 1, decision: decision)
            if nowMs >= lease.expiresAt { lease.tokens = 0 }
            // Tokens beyond the ceiling are let go (they stay debited): a node never holds more.
            lease.tokens = min(ceiling, lease.tokens + max(0, tokens - 1))
            lease.expiresAt = nowMs + lifetimeMilliseconds
            lease.lastReservedAt = nowMs
            lease.lastChunk = max(1, tokens)
            lease.decision = decision
            leases[key] = lease
        }
    }

    /// Takes back a token spent for `key`, while the lease it came from lasts; after that it
    /// stays spent (the node is then stricter by one, never looser).
    public func refund(_ key: String, now: Timestamp) {
        let nowMs = now.millisecondsSinceEpoch
        leases.withLock { leases in
            guard var lease = leases[key], nowMs < lease.expiresAt else { return }
            lease.tokens += 1
            leases[key] = lease
        }
    }

    /// Tokens this node holds for `key` now.
    public func held(_ key: String, now: Timestamp) -> Int {
        leases.withLock { leases in
            guard let lease = leases[key], now.millisecondsSinceEpoch < lease.expiresAt else { return 0 }
            return lease.tokens
        }
    }
}
