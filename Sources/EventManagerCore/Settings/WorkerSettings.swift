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
    /// Finished deliveries (sent, failed, skipped, cancelled) older than this are deleted
    /// (`reminders.retention_days`), so the history stays bounded.
    public var retention: Duration = .seconds(30 * 86_400)
    /// Finished deliveries deleted per statement: small, so a purge never holds the writer long.
    public var purgeBatch = 1000
    /// How often the worker looks for history to delete.
    public var purgeInterval: Duration = .seconds(60)

    public init() {}
}
