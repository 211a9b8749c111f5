/// How long idempotency keys are kept, and how long a running request holds its key.
public struct IdempotencySettings: Sendable, Equatable {
    /// `idempotency.ttl_hours`: a retry within this time replays the first answer.
    public var ttlMilliseconds: Int64 = 24 * 3_600_000
    /// `idempotency.lock_seconds`: a retry while the first request runs gets 409; after this
    /// long the first is taken to have died (a crash before its commit) and the retry runs.
    public var lockMilliseconds: Int64 = 30_000

    public init(ttlMilliseconds: Int64 = 24 * 3_600_000, lockMilliseconds: Int64 = 30_000) {
        self.ttlMilliseconds = ttlMilliseconds
        self.lockMilliseconds = lockMilliseconds
    }
}
