/// Settings of the reminder worker (`reminders.*`).
public struct WorkerSettings: Sendable {
    /// Deliveries claimed at once: big enough that claims and outcome writes are rare, small
    /// enough that a batch takes well under a second at the mail server's pace.
    public var batchSize = 500
    /// SMTP connections a worker sends over at once (`smtp.connections`).
    public var connections = 8
    /// How long before its due time a delivery is claimed and rendered, so that it is handed
    /// over at the due time and not after the claim and rendering.
    public var lookaheadMilliseconds: Int64 = 1000
    /// How long a claim is held; a worker that dies loses its claims after this.
    public var leaseMilliseconds: Int64 = 60_000
    /// Longest sleep between looks at the queue, whatever the next due time.
    public var pollInterval: Duration = .seconds(5)
    public var retry = RetryPolicy()
    /// Without an acceptance ledger, outcomes are committed after this many messages, so a
    /// crash re-sends at most this many. With one (the service always has one), a crash re-sends
    /// at most one message.
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
