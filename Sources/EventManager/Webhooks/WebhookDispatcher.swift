import EventManagerCore
import EventManagerMetrics
import EventManagerWebhooks
import Logging
import ServiceLifecycle
import Synchronization

/// Delivers webhook messages: claims what is due under a lease, posts each one signed, with a
/// few in flight at once, and records what the rule (`WebhookOutcome`) makes of each answer.
///
/// Runs on worker nodes beside the reminder worker. Messages reach the queue in the same
/// transaction as the change they announce, so a worker that dies loses nothing: its leases
/// run out and another worker (or this one, restarted) sends the messages again. A receiver
/// may therefore see a message twice; `webhook-id` tells it that it already has it.
public struct WebhookDispatcher: Service {
    let queue: any WebhookQueue
    let client: WebhookHTTPClient
    let signer = WebhookSigner()
    let clock: any WallClock
    let settings: WebhookSettings
    let owner: String
    let logger: Logger
    public let wakeup: Wakeup
    let metrics: AppMetrics?

    public init(
        queue: any WebhookQueue, client: WebhookHTTPClient, clock: any WallClock, settings: WebhookSettings, owner: String,
        logger: Logger, wakeup: Wakeup = Wakeup(), metrics: AppMetrics? = nil
    ) {
        self.queue = queue
        self.client = client
        self.clock = clock
        self.settings = settings
        self.owner = owner
        self.logger = logger
        self.wakeup = wakeup
        self.metrics = metrics
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            var lastPurge: Timestamp?
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                do {
                    while try await dispatchDue() > 0 && !Task.isShuttingDownGracefully {}
                    let now = clock.now()
                    if lastPurge.map({ now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch >= 600_000 }) ?? true {
                        lastPurge = now
                        try await purgeLog()
                    }
                    await wakeup.wait(timeout: try await sleepDuration())
                } catch {
                    logger.error("webhook dispatcher pass failed", metadata: ["error": .string(String(reflecting: error))])
                    await wakeup.wait(timeout: .milliseconds(settings.pollIntervalMilliseconds))
                }
            }
        } onGracefulShutdown: { [wakeup] in
            wakeup.signal()
        }
    }

    /// Sends one batch of due messages and records the outcomes; returns how many were claimed.
    @discardableResult
    public func dispatchDue() async throws -> Int {
        let claimed = try await queue.claim(
            owner: owner, limit: settings.concurrency * 4, now: clock.now(), leaseMilliseconds: settings.leaseMilliseconds)
        guard !claimed.isEmpty else { return 0 }
        // Endpoints this batch disabled: their remaining messages are not sent.
        let disabled = DisabledEndpoints()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = claimed.makeIterator()
            for _ in 0..<min(settings.concurrency, claimed.count) {
                if let item = next.next() { group.addTask { try await deliver(item, disabled: disabled) } }
            }
            while try await group.next() != nil {
                if let item = next.next() { group.addTask { try await deliver(item, disabled: disabled) } }
            }
        }
        return claimed.count
    }

    /// One attempt of one message.
    func deliver(_ item: ClaimedWebhookMessage, disabled: DisabledEndpoints) async throws {
        let message = item.message
        if disabled.contains(message.webhookID) {
            let result = WebhookAttemptResult.failed(reason: "not sent: the endpoint was disabled", latencyMilliseconds: 0)
            try await queue.complete(message.id, owner: owner, result: result, outcome: .failed(disableEndpoint: nil), now: clock.now())
            return
        }
        let result: WebhookAttemptResult
        do {
            let headers = try signer.headers(
                messageID: message.messageID, timestamp: clock.now(), body: message.payload, secret: item.secret)
            result = await client.post(url: item.url, headers: headers, body: message.payload)
        } catch {
            result = .failed(reason: "cannot sign: the endpoint's secret is damaged", latencyMilliseconds: 0)
        }
        let now = clock.now()
        let outcome = WebhookOutcome.decide(
            result, attempts: message.attempts, createdAt: message.createdAt, now: now, plan: settings.retry)
        try await queue.complete(message.id, owner: owner, result: result, outcome: outcome, now: now)
        metrics?.recordWebhookAttempt(outcome: Self.label(outcome))
        if case .failed(let reason?) = outcome {
            disabled.insert(message.webhookID)
            logger.warning(
                "webhook endpoint disabled",
                metadata: ["webhook_id": .stringConvertible(message.webhookID), "reason": .string(reason)])
        }
    }

    static func label(_ outcome: WebhookOutcome) -> String {
        switch outcome {
        case .delivered: "delivered"
        case .retry: "retry"
        case .failed: "failed"
        }
    }

    /// Until the next message falls due, at most the poll interval.
    func sleepDuration() async throws -> Duration {
        let poll = settings.pollIntervalMilliseconds
        guard let next = try await queue.nextDue() else { return .milliseconds(poll) }
        return .milliseconds(min(poll, max(0, next.millisecondsSinceEpoch - clock.now().millisecondsSinceEpoch)))
    }

    /// Deletes delivered and failed messages past `webhooks.retention_days`, a thousand at a time.
    @discardableResult
    public func purgeLog() async throws -> Int {
        let cutoff = clock.now().adding(milliseconds: -Int64(settings.retentionDays) * 86_400_000)
        var total = 0
        while true {
            let deleted = try await queue.purge(before: cutoff, limit: 1000)
            total += deleted
            if deleted < 1000 || Task.isShuttingDownGracefully { return total }
        }
    }
}

/// The endpoints one batch has disabled, shared by its concurrent attempts.
final class DisabledEndpoints: Sendable {
    private let ids = Mutex(Set<Int64>())

    func contains(_ id: Int64) -> Bool { ids.withLock { $0.contains(id) } }
    func insert(_ id: Int64) { ids.withLock { _ = $0.insert(id) } }
}
