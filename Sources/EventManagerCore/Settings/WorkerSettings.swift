/// Settings of the reminder worker (`reminders.*`).
public struct WorkerSettings: Sendable {
    public var batchSize = 100
    /// How long a claim is held; a worker that dies loses its claims after this.
    public var leaseMilliseconds: Int64 = 60_000
    /// Longest sleep between looks at the queue, whatever the next due time.
    public var pollInterval: Duration = .seconds(5)
    public var retry = RetryPolicy()
    /// Outcomes are committed after this many messages, so a crash re-sends at most this many.
    public var commitEvery = 10

    public init() {}
}
