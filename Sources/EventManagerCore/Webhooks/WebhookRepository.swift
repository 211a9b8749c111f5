/// Where endpoints are registered and their delivery logs read.
public protocol WebhookRepository: Sendable {
    func create(accountID: Int64, url: String, eventTypes: [WebhookEventType], secret: String, now: Timestamp) async throws -> Webhook
    /// Endpoints of one account, or of every account (nil), by id, after `afterID`.
    func list(accountID: Int64?, afterID: Int64?, limit: Int) async throws -> [Webhook]
    func find(id: Int64) async throws -> Webhook?
    /// Applies a checked change; `active` true clears the disabled mark, false sets it.
    func update(id: Int64, change: WebhookRegistration, now: Timestamp) async throws -> Webhook?
    /// Deletes the endpoint and its log; false when there was none.
    func delete(id: Int64) async throws -> Bool
    /// Queues a `webhook.ping` for the endpoint at once, active or not.
    func ping(_ webhook: Webhook, now: Timestamp) async throws -> WebhookMessage
    /// The endpoint's messages, newest first, before `beforeID`.
    func messages(webhookID: Int64, state: WebhookMessage.State?, beforeID: Int64?, limit: Int) async throws -> [WebhookMessage]
}

/// A message claimed for sending, with what it takes to send it.
public struct ClaimedWebhookMessage: Sendable {
    public var message: WebhookMessage
    public var url: String
    public var secret: String

    public init(message: WebhookMessage, url: String, secret: String) {
        self.message = message
        self.url = url
        self.secret = secret
    }
}

/// The durable queue of webhook messages, shared by every worker through the database.
public protocol WebhookQueue: Sendable {
    /// Leases up to `limit` messages that are due; a message whose worker died is due again
    /// when its lease runs out.
    func claim(owner: String, limit: Int, now: Timestamp, leaseMilliseconds: Int64) async throws -> [ClaimedWebhookMessage]
    /// Records an attempt and what follows from it, if the lease is still `owner`'s.
    func complete(_ id: Int64, owner: String, result: WebhookAttemptResult, outcome: WebhookOutcome, now: Timestamp) async throws
    /// The earliest time a message falls due, if any is waiting.
    func nextDue() async throws -> Timestamp?
    /// Deletes up to `limit` delivered or failed messages created before `cutoff`.
    func purge(before cutoff: Timestamp, limit: Int) async throws -> Int
}
