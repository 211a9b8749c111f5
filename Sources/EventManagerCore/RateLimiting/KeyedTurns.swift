import Synchronization

/// One caller at a time per key; the others wait for it to finish instead of doing the same work.
///
/// A node that runs out of reserved tokens for a busy client would otherwise send one
/// reservation per waiting request, all at once (32 concurrent requests, 32 upserts of the same
/// row), and throw away what it cannot hold. With turns, one request reserves while the others
/// wait and then spend what it brought.
public final class KeyedTurns: Sendable {
    /// What a caller of `take(_:)` is to do.
    public enum Turn: Sendable {
        /// The turn is the caller's: do the work, then `finish(_:failure:)`.
        case lead
        /// Another caller had the turn and finished it, with this failure if it failed.
        case followed((any Error)?)
    }

    private let waiting = Mutex<[String: [CheckedContinuation<(any Error)?, Never>]]>([:])

    public init() {}

    /// The turn for `key` now, or after waiting for whoever has it.
    public func take(_ key: String) async -> Turn {
        let leads = waiting.withLock { table in
            guard table[key] == nil else { return false }
            table[key] = []
            return true
        }
        if leads { return .lead }
        let failure = await withCheckedContinuation { continuation in
            let queued = waiting.withLock { table in
                guard table[key] != nil else { return false }
                table[key]!.append(continuation)
                return true
            }
            if !queued { continuation.resume(returning: nil) }
        }
        return .followed(failure)
    }

    /// Ends the turn on `key` and wakes everyone who waited for it, telling them how it went.
    public func finish(_ key: String, failure: (any Error)? = nil) {
        let waiters = waiting.withLock { $0.removeValue(forKey: key) ?? [] }
        for waiter in waiters { waiter.resume(returning: failure) }
    }
}
