import Logging
import SQLKit
import Synchronization

/// GCRA with its arrival times in the database, so every API node counts against one budget.
///
/// Each check reads the key's row and writes it back only if nobody changed it meanwhile
/// (compare and swap on the stored text); a lost race is simply evaluated again. Rows of keys that
/// have fully recovered are deleted now and then.
public struct SQLRateLimiter: RateLimiting {
    public let limits: [RateLimit]
    let store: DatabaseStore
    /// Distinguishes the classes (`read`, `write`, ...) that share the table.
    let scope: String
    let inserts = Counter()

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    public init(store: DatabaseStore, scope: String, limits: [RateLimit]) {
        self.store = store
        self.scope = scope
        self.limits = limits
    }

    public func check(_ key: String, now: Timestamp) async throws -> RateLimitDecision {
        let rowKey = "\(scope)|\(key)"
        let sql = try store.sql()
        for _ in 0..<8 {
            let row = try await sql.raw("SELECT tats FROM rate_limits WHERE key = \(bind: rowKey)").first()
            let storedText = try row?.decode(column: "tats", as: String.self)
            let stored = storedText.map { $0.split(separator: ",").compactMap { Double($0) } }
            let (decision, updated) = GCRA.evaluate(stored: stored, limits: limits, now: now)
            guard let updated else { return decision }
            let text = updated.map { "\($0)" }.joined(separator: ",")
            let expires = Int64((updated.max() ?? 0).rounded(.up))
            let written: Bool
            if let storedText {
                written =
                    try await sql.raw(
                        """
                        UPDATE rate_limits SET tats = \(bind: text), expires_at = \(bind: expires) \
                        WHERE key = \(bind: rowKey) AND tats = \(bind: storedText) RETURNING key
                        """
                    ).first() != nil
            } else {
                written =
                    try await sql.raw(
                        """
                        INSERT INTO rate_limits (key, tats, expires_at) VALUES (\(bind: rowKey), \(bind: text), \(bind: expires)) \
                        ON CONFLICT (key) DO NOTHING RETURNING key
                        """
                    ).first() != nil
                if written, inserts.value.wrappingAdd(1, ordering: .relaxed).newValue % 1000 == 0 {
                    try await sql.raw("DELETE FROM rate_limits WHERE expires_at < \(bind: now.millisecondsSinceEpoch)").run()
                }
            }
            if written { return decision }
        }
        // Eight lost races in a row: the key is hammered from every node; refusing is the safe answer.
        var refused = GCRA.evaluate(stored: nil, limits: limits, now: now).decision
        refused.allowed = false
        refused.remaining = 0
        refused.retryAfterSeconds = 1
        return refused
    }
}
