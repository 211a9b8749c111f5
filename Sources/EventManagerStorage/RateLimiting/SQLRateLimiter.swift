import EventManagerCore
import Logging
import SQLKit
import Synchronization

/// GCRA with its arrival times in the database, so every API node counts against one budget.
///
/// One statement decides and counts a request: an upsert whose update only happens when every
/// limit allows it, so the row is locked for that statement alone and hot keys (one busy client,
/// one popular event) never retry. A refusal costs a second read, for the `Retry-After`, and is
/// remembered until that time: budgets only grow back with time, so no other node can make the
/// key allowed sooner, and a client hammering a node is refused without touching the database.
/// Rows of keys that have fully recovered are deleted now and then.
public struct SQLRateLimiter: RateLimiting {
    /// Columns in `rate_limits`: a class may have this many limits.
    static let maxLimits = RateLimit.maxPerClass

    public let limits: [RateLimit]
    let store: DatabaseStore
    /// Distinguishes the classes (`read`, `write`, ...) that share the table.
    let scope: String
    let inserts = Counter()
    let refused = RefusalCache()

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Keys refused until a known time; bounded, since entries die as their time passes.
    final class RefusalCache: Sendable {
        let until = Mutex<[String: Double]>([:])
        static let maxKeys = 100_000

        func refusedUntil(_ key: String, now: Double) -> Double? {
            until.withLock { table in
                guard let time = table[key] else { return nil }
                if time > now { return time }
                table[key] = nil
                return nil
            }
        }

        func remember(_ key: String, until time: Double, now: Double) {
            until.withLock { table in
                if table.count >= Self.maxKeys { table = table.filter { $0.value > now } }
                if table.count < Self.maxKeys { table[key] = time }
            }
        }
    }

    public init(store: DatabaseStore, scope: String, limits: [RateLimit]) {
        precondition(!limits.isEmpty && limits.count <= Self.maxLimits, "1 to \(Self.maxLimits) limits per class")
        self.store = store
        self.scope = scope
        self.limits = limits
    }

    public func knownRefusal(_ key: String, now: Timestamp) -> RateLimitDecision? {
        let nowMs = Double(now.millisecondsSinceEpoch)
        guard let until = refused.refusedUntil("\(scope)|\(key)", now: nowMs) else { return nil }
        var decision = GCRA.evaluate(stored: nil, limits: limits, now: now).decision
        decision.allowed = false
        decision.remaining = 0
        decision.retryAfterSeconds = max(1, Int64(((until - nowMs) / 1000).rounded(.up)))
        decision.resetSeconds = max(decision.resetSeconds, decision.retryAfterSeconds)
        return decision
    }

    public func check(_ key: String, now: Timestamp) async throws -> RateLimitDecision {
        if let refusal = knownRefusal(key, now: now) { return refusal }
        let rowKey = "\(scope)|\(key)"
        let nowMs = Double(now.millisecondsSinceEpoch)
        // Unused columns get an interval of 0 and a window that always allows, whatever the
        // order in which requests with slightly different clocks arrive.
        let slots = (0..<Self.maxLimits).map { index in
            index < limits.count ? (limits[index].emissionInterval, Double(limits[index].periodMilliseconds)) : (0.0, 1e15)
        }
        let greatest: SQLQueryString = store.isSQLite ? "MAX" : "GREATEST"
        var assignments: [SQLQueryString] = []
        var conditions: [SQLQueryString] = []
        for (index, (interval, period)) in slots.enumerated() {
            let next: SQLQueryString = "\(greatest)(rate_limits.tat\(unsafeRaw: String(index)), \(bind: nowMs)) + \(bind: interval)"
            assignments.append("tat\(unsafeRaw: String(index)) = \(next)")
            conditions.append("\(next) - \(bind: period) <= \(bind: nowMs)")
        }
        let fresh = slots.map { nowMs + $0.0 }
        var statement: SQLQueryString = """
            INSERT INTO rate_limits (key, tat0, tat1, tat2, tat3, expires_at) VALUES (\(bind: rowKey), \(bind: fresh[0]), \
            \(bind: fresh[1]), \(bind: fresh[2]), \(bind: fresh[3]), \(bind: fresh.max() ?? nowMs)) ON CONFLICT (key) DO UPDATE SET 
            """
        let nextTimes: [SQLQueryString] = slots.indices.map {
            "\(greatest)(rate_limits.tat\(unsafeRaw: String($0)), \(bind: nowMs)) + \(bind: slots[$0].0)"
        }
        statement += assignments.joined(separator: ", ")
        statement += ", expires_at = \(greatest)(\(nextTimes.joined(separator: ", ")))"
        statement += " WHERE "
        statement += conditions.joined(separator: " AND ")
        statement += " RETURNING tat0, tat1, tat2, tat3"
        let query = statement
        let write = { @Sendable (sql: any SQLDatabase) in try await sql.raw(query).first() }
        if let row = try await store.write(write) {
            // Allowed: the returned times are the new state; the decision is the one GCRA reaches for them.
            let stored = try (0..<limits.count).map { try row.decode(column: "tat\($0)", as: Double.self) - limits[$0].emissionInterval }
            if inserts.value.wrappingAdd(1, ordering: .relaxed).newValue % 1000 == 0 {
                try await store.write { sql in try await sql.raw("DELETE FROM rate_limits WHERE expires_at < \(bind: nowMs)").run() }
            }
            return GCRA.evaluate(stored: stored, limits: limits, now: now).decision
        }
        // Refused: read the state to say when to come back.
        let row = try await store.read {
            try await $0.raw("SELECT tat0, tat1, tat2, tat3 FROM rate_limits WHERE key = \(bind: rowKey)").first()
        }
        let stored = try row.map { row in try (0..<limits.count).map { try row.decode(column: "tat\($0)", as: Double.self) } }
        var decision = GCRA.evaluate(stored: stored, limits: limits, now: now).decision
        decision.allowed = false
        decision.retryAfterSeconds = max(1, decision.retryAfterSeconds)
        if let stored, stored.count == limits.count {
            refused.remember(rowKey, until: GCRA.allowedAt(stored: stored, limits: limits), now: nowMs)
        }
        return decision
    }
}
