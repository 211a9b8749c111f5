/// How webhooks are delivered: the `webhooks.*` keys.
public struct WebhookSettings: Sendable, Equatable {
    /// `webhooks.allow_private`: call loopback, private and link-local addresses too.
    public var policy = WebhookAddressPolicy()
    /// `webhooks.timeout_seconds`: one attempt, from connecting to the end of the answer.
    public var timeoutSeconds = 10
    /// `webhooks.concurrency`: requests one worker has in flight at once.
    public var concurrency = 8
    /// `webhooks.retention_days`: how long delivered and failed messages stay in the log.
    public var retentionDays = 30
    /// `webhooks.ca_file`: certificate authorities for HTTPS endpoints; nil trusts the system's.
    public var caFile: String?
    /// How often a worker looks for due messages when nothing woke it.
    public var pollIntervalMilliseconds: Int64 = 1000
    /// When to retry and when to give up.
    public var retry = WebhookRetryPlan()

    public init() {}

    /// A claimed message's lease: an attempt's timeout and a margin, after which another
    /// worker takes it over.
    public var leaseMilliseconds: Int64 { Int64(timeoutSeconds) * 1000 + 30_000 }
}
