import EventManagerCore
import Logging
import SQLKit
import Synchronization

/// GCRA with its arrival times in the database, so every API node counts against one budget.
///
/// Nodes reserve tokens in chunks that adapt per key (see `TokenLeases`): a busy client costs a
/// write per chunk, not per request, and a quiet key reserves one token at a time. One statement
/// decides and reserves: an upsert whose update only happens when every limit has a token left,
/// so the row is locked for that statement alone and hot keys (one busy client, one popular
/// event) never retry. A refusal costs a second read, for the `Retry-After`, and is
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
    /// Reservations made (each one statement that writes).
    let reservations = Counter()
    let refused = RefusalCache()
    /// Tokens this node reserved and has not spent yet.
    let leases: TokenLeases
    /// One reservation per key at a time; requests arriving meanwhile spend what it brings.
    let turns = KeyedTurns()
    /// Reservations made ahead that are still under way.
    let ahead = AheadReservations()

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Background reservations in flight, so that tests (and nothing else) can wait for them.
    final class AheadReservations: Sendable {
        private let tasks = Mutex<(next: Int, running: [Int: Task<Void, Never>])>((0, [:]))

        func start(_ work: @escaping @Sendable () async -> Void) {
            tasks.withLock { tasks in
                let id = tasks.next
                tasks.next += 1
                // Registered before the task can finish: its removal takes the same lock.
                tasks.running[id] = Task {
                    await work()
                    self.tasks.withLock { _ = $0.running.removeValue(forKey: id) }
                }
            }
        }

        /// Returns once every reservation started so far has finished.
        func finished() async {
            for task in tasks.withLock({ Array($0.running.values) }) { await task.value }
        }
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

    /// One statement that reserves up to `chunk` tokens of every limit, or none: an upsert whose
    /// update happens only when every limit has at least one token left, granting as many as the
    /// scarcest limit has (at most `chunk`), and returning the new times and the grant.
    func reservation(_ rowKey: String, chunk: Int, nowMs: Double) -> SQLQueryString {
        let (greatest, least): (SQLQueryString, SQLQueryString) = store.isSQLite ? ("MAX", "MIN") : ("GREATEST", "LEAST")
        // Tokens a limit has left: whole emission intervals between its arrival time and the end
        // of its window (the small epsilon keeps an exact boundary from rounding down).
        let available: [SQLQueryString] = limits.indices.map { index in
            let left: SQLQueryString =
                "(\(bind: nowMs) + \(bind: Double(limits[index].periodMilliseconds)) - \(greatest)(rate_limits.tat\(unsafeRaw: String(index)), \(bind: nowMs))) / \(bind: limits[index].emissionInterval) + 0.000001"
            return store.isSQLite ? "CAST(\(left) AS INTEGER)" : "FLOOR(\(left))"
        }
        let granted: SQLQueryString = "\(least)(\(bind: chunk), \(available.joined(separator: ", ")))"
        // Unused columns get an interval of 0 and a window that always allows.
        let intervals = (0..<Self.maxLimits).map { $0 < limits.count ? limits[$0].emissionInterval : 0 }
        let nextTimes: [SQLQueryString] = intervals.indices.map { index in
            "\(greatest)(rate_limits.tat\(unsafeRaw: String(index)), \(bind: nowMs)) + \(granted) * \(bind: intervals[index])"
        }
        // A new key gets the whole chunk when every limit holds that many.
        let fresh = min(chunk, limits.map(\.count).min() ?? 1)
        let freshTimes = intervals.map { nowMs + Double(fresh) * $0 }
        var statement: SQLQueryString = """
            INSERT INTO rate_limits (key, tat0, tat1, tat2, tat3, expires_at, granted) VALUES (\(bind: rowKey), \(bind: freshTimes[0]), \
            \(bind: freshTimes[1]), \(bind: freshTimes[2]), \(bind: freshTimes[3]), \(bind: freshTimes.max() ?? nowMs), \(bind: fresh)) \
            ON CONFLICT (key) DO UPDATE SET 
            """
        statement += nextTimes.indices.map { "tat\(unsafeRaw: String($0)) = \(nextTimes[$0])" }.joined(separator: ", ")
        statement += ", expires_at = \(greatest)(\(nextTimes.joined(separator: ", ")))"
        statement += ", granted = \(granted)"
        statement += " WHERE \(granted) >= 1 RETURNING tat0, tat1, tat2, tat3, granted"
        return statement
    }

    public init(store: DatabaseStore, scope: String, limits: [RateLimit], leases: TokenLeases = TokenLeases()) {
        precondition(!limits.isEmpty && limits.count <= Self.maxLimits, "1 to \(Self.maxLimits) limits per class")
        self.store = store
        self.scope = scope
        self.limits = limits
        self.leases = leases
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

    /// The token goes back to this node's lease, to be spent here again (`TokenLeases.refund`).
    public func refund(_ key: String, now: Timestamp) {
        leases.refund("\(scope)|\(key)", now: now)
    }

    public func check(_ key: String, now: Timestamp) async throws -> RateLimitDecision {
        let rowKey = "\(scope)|\(key)"
        // A request that finds another reserving for its key waits for it, then spends what it
        // brought (or fails as it did: the database is the same); every turn reserves a chunk
        // twice the last, so a burst is served in a few turns.
        for _ in 0..<16 {
            if let refusal = knownRefusal(key, now: now) { return refusal }
            if let spent = leases.spend(rowKey, now: now) {
                if let chunk = spent.reserveAhead { reserveAhead(rowKey, chunk: chunk, now: now) }
                return spent.decision
            }
            switch await turns.take(rowKey) {
            case .lead:
                do {
                    let decision = try await reserve(rowKey, now: now)
                    turns.finish(rowKey)
                    return decision
                } catch {
                    turns.finish(rowKey, failure: error)
                    throw error
                }
            case .followed(let failure?):
                throw failure
            case .followed(nil):
                continue
            }
        }
        return try await reserve(rowKey, now: now)
    }

    /// Reserves the next chunk in the background, taking the key's turn like any reservation;
    /// a refusal or a failure grants nothing, and the request that finds the lease empty then
    /// reserves (and learns why) itself.
    private func reserveAhead(_ rowKey: String, chunk: Int, now: Timestamp) {
        ahead.start { [self] in
            guard case .lead = await turns.take(rowKey) else {
                // Another reservation ran meanwhile and brought tokens.
                return leases.grantedAhead(nil, for: rowKey, now: now)
            }
            // Sized before the turn: a request may have reserved meanwhile.
            let size = min(chunk, leases.room(for: rowKey, now: now))
            guard size >= 1 else {
                leases.grantedAhead(nil, for: rowKey, now: now)
                return turns.finish(rowKey)
            }
            var failure: (any Error)?
            var grant: TokenLeases.Grant?
            do { grant = try await reserveRow(rowKey, chunk: size, now: now) } catch { failure = error }
            // Kept before the turn ends, so that requests waiting for it find the tokens.
            leases.grantedAhead(grant, for: rowKey, now: now)
            turns.finish(rowKey, failure: failure)
        }
    }

    /// One reservation of up to `chunk` tokens: what was granted and GCRA's decision for the
    /// new state, or nil when the shared budget refused.
    private func reserveRow(_ rowKey: String, chunk: Int, now: Timestamp) async throws -> TokenLeases.Grant? {
        let nowMs = Double(now.millisecondsSinceEpoch)
        guard
            let row = try await store.write({ [query = reservation(rowKey, chunk: chunk, nowMs: nowMs)] sql in
                try await sql.raw(query).first()
            })
        else { return nil }
        // Granted: the returned times are the new state; the decision is the one GCRA reaches for them.
        let granted = try row.decode(column: "granted", as: Int.self)
        let stored = try (0..<limits.count).map { try row.decode(column: "tat\($0)", as: Double.self) - limits[$0].emissionInterval }
        if reservations.value.wrappingAdd(1, ordering: .relaxed).newValue % 1000 == 0 {
            try await store.write { sql in try await sql.raw("DELETE FROM rate_limits WHERE expires_at < \(bind: nowMs)").run() }
        }
        return TokenLeases.Grant(tokens: granted, decision: GCRA.evaluate(stored: stored, limits: limits, now: now).decision)
    }

    /// Asks the shared budget for a chunk of tokens for `rowKey` and spends one of them.
    private func reserve(_ rowKey: String, now: Timestamp) async throws -> RateLimitDecision {
        let chunk = leases.chunk(for: rowKey, limits: limits, now: now)
        let nowMs = Double(now.millisecondsSinceEpoch)
        if let grant = try await reserveRow(rowKey, chunk: chunk, now: now) {
            leases.granted(grant.tokens, for: rowKey, decision: grant.decision, limits: limits, now: now)
            // The database granted it: allowed, even where rounding puts the new time a hair past the window.
            var answer = grant.decision
            answer.allowed = true
            answer.retryAfterSeconds = 0
            answer.remaining += leases.held(rowKey, now: now)
            return answer
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
