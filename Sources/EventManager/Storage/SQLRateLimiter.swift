import Logging
import SQLKit
import Synchronization

/// GCRA with its arrival times in the database, so every API node counts against one budget.
///
/// The fast path reads the key's row and writes it back only if nobody changed it meanwhile
/// (compare and swap on the stored text): two statements, no lock. A key that loses that race is
/// hot, so it is decided again under a row lock, which serialises its callers instead of letting
/// them retry. Rows of keys that have fully recovered are deleted now and then.
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
        // SQLite has one writer anyway: it always takes the locked path, queued in this process.
        if !store.isSQLite {
            let sql = try store.sql()
            let row = try await sql.raw("SELECT tats FROM rate_limits WHERE key = \(bind: rowKey)").first()
            let storedText = try row?.decode(column: "tats", as: String.self)
            let (decision, updated) = GCRA.evaluate(stored: storedText.map(Self.parse), limits: limits, now: now)
            guard let updated else { return decision }
            if try await write(updated, replacing: storedText, key: rowKey, now: now, sql: sql) { return decision }
        }
        return try await store.transaction { sql in
            try await self.write(nil, replacing: nil, key: rowKey, now: now, sql: sql)
            let locked = try await sql.raw("SELECT tats FROM rate_limits WHERE key = \(bind: rowKey)\(self.store.forUpdate)").first()
            let current = try locked?.decode(column: "tats", as: String.self)
            let (decision, updated) = GCRA.evaluate(stored: current.map(Self.parse), limits: self.limits, now: now)
            if let updated {
                try await sql.raw(
                    "UPDATE rate_limits SET tats = \(bind: Self.format(updated)), expires_at = \(bind: Self.expiry(updated)) WHERE key = \(bind: rowKey)"
                ).run()
            }
            return decision
        }
    }

    /// Writes `updated` if the row still holds `replacing` (nil: if there is no row yet); with
    /// `updated` nil, only makes sure a row exists. Returns whether the row was written.
    private func write(_ updated: [Double]?, replacing: String?, key: String, now: Timestamp, sql: any SQLDatabase) async throws -> Bool {
        let text = updated.map(Self.format) ?? ""
        let expires = updated.map(Self.expiry) ?? now.millisecondsSinceEpoch
        if let replacing {
            return try await sql.raw(
                """
                UPDATE rate_limits SET tats = \(bind: text), expires_at = \(bind: expires) \
                WHERE key = \(bind: key) AND tats = \(bind: replacing) RETURNING key
                """
            ).first() != nil
        }
        let inserted =
            try await sql.raw(
                """
                INSERT INTO rate_limits (key, tats, expires_at) VALUES (\(bind: key), \(bind: text), \(bind: expires)) \
                ON CONFLICT (key) DO NOTHING RETURNING key
                """
            ).first() != nil
        if inserted, inserts.value.wrappingAdd(1, ordering: .relaxed).newValue % 1000 == 0 {
            try await sql.raw("DELETE FROM rate_limits WHERE expires_at < \(bind: now.millisecondsSinceEpoch)").run()
        }
        return inserted
    }

    static func parse(_ text: String) -> [Double] { text.split(separator: ",").compactMap { Double($0) } }
    static func format(_ tats: [Double]) -> String { tats.map { "\($0)" }.joined(separator: ",") }
    static func expiry(_ tats: [Double]) -> Int64 { Int64((tats.max() ?? 0).rounded(.up)) }
}
