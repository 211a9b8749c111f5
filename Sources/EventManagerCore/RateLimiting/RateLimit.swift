import Synchronization

/// One limit: at most `count` requests per `period`, e.g. `300 per minute`.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    public var periodMilliseconds: Int64

    public init(count: Int, periodMilliseconds: Int64) {
        self.count = count
        self.periodMilliseconds = periodMilliseconds
    }

    static let units: [String: Int64] = ["second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000]

    /// Parses `N per second|minute|hour|day` (a plural unit is accepted too).
    public init?(_ text: String) {
        let words = text.split(separator: " ").map { $0.lowercased() }
        guard words.count == 3, words[1] == "per", let count = Int(words[0]), count > 0, count <= 1_000_000_000 else { return nil }
        let unit = words[2].hasSuffix("s") ? String(words[2].dropLast()) : words[2]
        guard let period = Self.units[unit] else { return nil }
        self.init(count: count, periodMilliseconds: period)
    }

    /// A class (read, write, ...) has at most this many limits (the shared table has a column each).
    public static let maxPerClass = 4

    public var windowSeconds: Int64 { periodMilliseconds / 1000 }
    public var description: String {
        "\(count) per \(Self.units.first { $0.value == periodMilliseconds }?.key ?? "\(periodMilliseconds) ms")"
    }
    /// The time one request "costs" under GCRA.
    package var emissionInterval: Double { Double(periodMilliseconds) / Double(count) }
}

/// What a limiter decided for one request.
public struct RateLimitDecision: Sendable, Equatable {
    public var allowed: Bool
    /// The limit closest to running out, reported in the `RateLimit` header.
    public var tightest: RateLimit
    public var remaining: Int
    /// Seconds until the tightest limit is whole again.
    public var resetSeconds: Int64
    /// Seconds to wait before retrying, when refused.
    public var retryAfterSeconds: Int64

    public init(allowed: Bool, tightest: RateLimit, remaining: Int, resetSeconds: Int64, retryAfterSeconds: Int64) {
        self.allowed = allowed
        self.tightest = tightest
        self.remaining = remaining
        self.resetSeconds = resetSeconds
        self.retryAfterSeconds = retryAfterSeconds
    }
}

/// Something that counts requests per key against a set of limits that all apply.
public protocol RateLimiting: Sendable {
    var limits: [RateLimit] { get }
    /// Counts one request for `key` at `now` if every limit allows it.
    func check(_ key: String, now: Timestamp) async throws -> RateLimitDecision
    /// The refusal `check` would answer for `key` now, when this node already knows of one;
    /// counts nothing and never asks a database. Nil: no refusal known.
    func knownRefusal(_ key: String, now: Timestamp) -> RateLimitDecision?
    /// Gives back the request an allowed `check` counted for `key`, when what it was counted
    /// for turned out not to happen (asking again for a subscription that exists).
    func refund(_ key: String, now: Timestamp)
}

/// The generic cell rate algorithm over one key: one "theoretical arrival time" per limit, no
/// background timers, O(1) per request. Pure, so memory and the database share it.
public enum GCRA {
    /// Decides one request. `stored` holds the key's arrival times (nil for a new key); `updated`
    /// is what to store when the request is allowed, nil when it is refused.
    public static func evaluate(
        stored: [Double]?, limits: [RateLimit], now: Timestamp
    ) -> (decision: RateLimitDecision, updated: [Double]?) {
        let nowMs = Double(now.millisecondsSinceEpoch)
        let previous = stored.flatMap { $0.count == limits.count ? $0 : nil } ?? Array(repeating: 0, count: limits.count)
        var updated = previous
        var refusedFor: Double = 0
        for (index, limit) in limits.enumerated() {
            let tat = max(previous[index], nowMs)
            let next = tat + limit.emissionInterval
            let allowAt = next - Double(limit.periodMilliseconds)
            if nowMs < allowAt { refusedFor = max(refusedFor, allowAt - nowMs) }
            updated[index] = next
        }
        let allowed = refusedFor == 0
        let effective = allowed ? updated : previous.map { max($0, nowMs) }
        var tightestIndex = 0
        var tightestRemaining = Int.max
        for (index, limit) in limits.enumerated() {
            let used = max(0, effective[index] - nowMs)
            let remaining = max(0, Int((Double(limit.periodMilliseconds) - used) / limit.emissionInterval))
            if remaining < tightestRemaining {
                tightestRemaining = remaining
                tightestIndex = index
            }
        }
        let reset = Int64((max(0, effective[tightestIndex] - nowMs) / 1000).rounded(.up))
        let decision = RateLimitDecision(
            allowed: allowed, tightest: limits[tightestIndex], remaining: tightestRemaining, resetSeconds: reset,
            retryAfterSeconds: allowed ? 0 : max(1, Int64((refusedFor / 1000).rounded(.up)))
        )
        return (decision, allowed ? updated : nil)
    }
}

extension GCRA {
    /// The arrival times before one allowed request: each limit's moves back one interval.
    public static func refunded(stored: [Double], limits: [RateLimit]) -> [Double] {
        zip(stored, limits).map { $0 - $1.emissionInterval }
    }

    /// The earliest time (ms since the epoch) at which every limit allows one more request.
    public static func allowedAt(stored: [Double], limits: [RateLimit]) -> Double {
        zip(stored, limits).map { $0 + $1.emissionInterval - Double($1.periodMilliseconds) }.max() ?? 0
    }
}

/// GCRA in this process's memory: right for one node.
///
/// Memory stays bounded: a key whose every limit has fully recovered carries no information and is
/// dropped when the table is swept; past `maxKeys`, the keys closest to recovery go first.
public final class RateLimiter: RateLimiting {
    public let limits: [RateLimit]
    let maxKeys: Int
    private let table = Mutex<Table>(Table())

    struct Table {
        var arrivals: [String: [Double]] = [:]
        var insertsSinceSweep = 0
    }

    public init(limits: [RateLimit], maxKeys: Int = 100_000) {
        self.limits = limits
        self.maxKeys = maxKeys
    }

    public var keyCount: Int { table.withLock { $0.arrivals.count } }

    public func check(_ key: String, now: Timestamp) -> RateLimitDecision {
        table.withLock { table in
            let stored = table.arrivals[key]
            let (decision, updated) = GCRA.evaluate(stored: stored, limits: limits, now: now)
            if let updated {
                if stored == nil {
                    table.insertsSinceSweep += 1
                    if table.arrivals.count >= maxKeys || table.insertsSinceSweep >= 10_000 {
                        sweep(&table, now: Double(now.millisecondsSinceEpoch))
                    }
                }
                table.arrivals[key] = updated
            }
            return decision
        }
    }

    public func knownRefusal(_ key: String, now: Timestamp) -> RateLimitDecision? {
        let stored = table.withLock { $0.arrivals[key] }
        let decision = GCRA.evaluate(stored: stored, limits: limits, now: now).decision
        return decision.allowed ? nil : decision
    }

    public func refund(_ key: String, now: Timestamp) {
        table.withLock { table in
            guard let stored = table.arrivals[key], stored.count == limits.count else { return }
            table.arrivals[key] = GCRA.refunded(stored: stored, limits: limits)
        }
    }

    private func sweep(_ table: inout Table, now: Double) {
        table.insertsSinceSweep = 0
        table.arrivals = table.arrivals.filter { $0.value.contains { $0 > now } }
        if table.arrivals.count >= maxKeys {
            let keep = table.arrivals.sorted { ($0.value.max() ?? 0) > ($1.value.max() ?? 0) }.prefix(maxKeys * 3 / 4)
            table.arrivals = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}
