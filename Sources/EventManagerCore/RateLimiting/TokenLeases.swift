import Synchronization

/// A node's unspent share of budgets kept elsewhere (the shared `rate_limits` table), so that a
/// busy client costs the database one write per chunk of requests instead of one per request.
///
/// A node reserves tokens from the shared budget in chunks and spends them locally. The chunk
/// adapts per key: a key that comes back for more within `hotWindowMilliseconds` gets twice as
/// many next time, up to `maximumChunk(for:)`; a quiet key gets one, so rarely used keys (a
/// subscriber's address, "5 per hour") behave exactly as before. Reserved tokens are debited
/// from the shared budget when reserved, so no node can spend tokens another node also spends;
/// unspent ones expire after `lifetimeMilliseconds`, counted from their own reservation (a chunk
/// reserved ahead waits beside the current one, `spend`). A token is therefore spent at most that long
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
        /// Tokens reserved ahead, kept apart so that each token keeps the expiry of its own
        /// reservation (the bound depends on it); spent once `tokens` are gone.
        var spare = 0
        var spareExpiresAt: Int64 = 0
        /// A reservation ahead is under way: no second one is started.
        var reservingAhead = false
        var lastReservedAt: Int64
        var lastChunk: Int
        /// The most tokens held at once for this key (`maximumChunk(for:)` of its limits).
        var ceiling: Int
        /// The shared budget's answer at the last reservation; spending adjusts `remaining`.
        var decision: RateLimitDecision

        func held(_ nowMs: Int64) -> Int {
            (nowMs < expiresAt ? tokens : 0) + (nowMs < spareExpiresAt ? spare : 0)
        }

        /// Moves the spare tokens in once the current ones are spent or expired.
        mutating func promoteSpare(_ nowMs: Int64) {
            guard tokens == 0 || nowMs >= expiresAt, spare > 0, nowMs < spareExpiresAt else { return }
            (tokens, expiresAt, spare) = (spare, spareExpiresAt, 0)
        }
    }

    /// What one reservation brought: the tokens and the shared budget's answer with them.
    public struct Grant: Sendable {
        public var tokens: Int
        public var decision: RateLimitDecision

        public init(tokens: Int, decision: RateLimitDecision) {
            self.tokens = tokens
            self.decision = decision
        }
    }

    /// One token spent, and whether to reserve more now, before the node runs out.
    public struct Spent: Sendable {
        public var decision: RateLimitDecision
        /// How many tokens to reserve ahead (the caller does it in the background), or nil.
        public var reserveAhead: Int?
    }

    private let leases = Mutex<[String: Lease]>([:])
    static let maxKeys = 100_000

    public init(lifetimeMilliseconds: Int64 = 1000, hotWindowMilliseconds: Int64 = 250, chunkCeiling: Int = 256) {
        self.lifetimeMilliseconds = lifetimeMilliseconds
        self.hotWindowMilliseconds = hotWindowMilliseconds
        self.chunkCeiling = chunkCeiling
    }

    /// The largest chunk for these limits: a sixteenth of the smallest limit, at most
    /// `chunkCeiling`, so a node never holds a noticeable part of any budget.
    ///
    /// The ceiling (256) matters only for limits of 4,096 a minute and more. At 6,000 reads a
    /// second of one client on an API node, chunks of at most 64 cost one commit per 40 or so
    /// requests: 7 µs of PostgreSQL's CPU and 8 of the server's per read, and the p99 of single
    /// reads at a million events went from 1.89-1.98 ms to 2.21-2.54 ms. The bound does not
    /// depend on the chunk (see above).
    public func maximumChunk(for limits: [RateLimit]) -> Int {
        max(1, min(chunkCeiling, (limits.map(\.count).min() ?? 1) / 16))
    }

    /// Spends one reserved token for `key`, answering as the last reservation did; nil when the
    /// node holds none (reserve first).
    ///
    /// A key busy enough to have earned a chunk of two or more is asked to reserve its next
    /// chunk when half of this one is spent: its requests then never wait for the database
    /// (each wait was a PostgreSQL commit, and with a chunk of 64 it put one request in 16 in
    /// the p99 of single reads). Quiet keys (a chunk of one) never reserve ahead.
    public func spend(_ key: String, now: Timestamp) -> Spent? {
        let nowMs = now.millisecondsSinceEpoch
        return leases.withLock { leases in
            guard var lease = leases[key] else { return nil }
            lease.promoteSpare(nowMs)
            guard lease.tokens > 0, nowMs < lease.expiresAt else { return nil }
            lease.tokens -= 1
            let held = lease.held(nowMs)
            var ahead: Int?
            if !lease.reservingAhead, lease.spare == 0, lease.lastChunk >= 2, held <= lease.lastChunk / 2 {
                let size = min(lease.ceiling, lease.lastChunk * 2) - held
                if size >= 1 {
                    ahead = size
                    lease.reservingAhead = true
                }
            }
            leases[key] = lease
            var decision = lease.decision
            decision.remaining += held
            return Spent(decision: decision, reserveAhead: ahead)
        }
    }

    /// Keeps what a reservation made ahead granted (nil when it was refused, failed or gave way
    /// to another), beside the tokens still held and with its own expiry.
    public func grantedAhead(_ grant: Grant?, for key: String, now: Timestamp) {
        let nowMs = now.millisecondsSinceEpoch
        leases.withLock { leases in
            guard var lease = leases[key] else { return }
            lease.reservingAhead = false
            if let grant, grant.tokens > 0 {
                // Never more than the ceiling held; the rest stays debited, as in `granted`.
                lease.spare = min(grant.tokens, max(0, lease.ceiling - lease.held(nowMs)))
                lease.spareExpiresAt = nowMs + lifetimeMilliseconds
                lease.lastReservedAt = nowMs
                lease.lastChunk = grant.tokens
                lease.decision = grant.decision
                lease.promoteSpare(nowMs)
            }
            leases[key] = lease
        }
    }

    /// How many more tokens the node may hold for `key` now: what a reservation made ahead may
    /// still ask for once it has the key's turn. Sized when it was asked for, it may find that
    /// a request reserved meanwhile (the lease ran dry before it had the turn); asking for the
    /// old size would then debit tokens the ceiling lets go unspent.
    public func room(for key: String, now: Timestamp) -> Int {
        leases.withLock { leases in
            guard let lease = leases[key] else { return 0 }
            return max(0, lease.ceiling - lease.held(now.millisecondsSinceEpoch))
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
            var lease =
                leases[key] ?? Lease(tokens: 0, expiresAt: 0, lastReservedAt: nowMs, lastChunk: 1, ceiling: ceiling, decision: decision)
            if nowMs >= lease.expiresAt { lease.tokens = 0 }
            // Tokens beyond the ceiling are let go (they stay debited): a node never holds more.
            lease.tokens = min(ceiling, lease.tokens + max(0, tokens - 1))
            lease.expiresAt = nowMs + lifetimeMilliseconds
            lease.lastReservedAt = nowMs
            lease.lastChunk = max(1, tokens)
            lease.ceiling = ceiling
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
        leases.withLock { leases in leases[key]?.held(now.millisecondsSinceEpoch) ?? 0 }
    }
}
