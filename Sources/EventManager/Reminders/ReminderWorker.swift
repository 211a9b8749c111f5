import EventManagerCore
import EventManagerMail
import EventManagerMetrics
import Logging
import ServiceLifecycle
import Synchronization

/// Sends what the queue says is due: claims a batch under a lease a moment before it falls due,
/// renders it, hands each message over at its due time on several connections, records the
/// outcomes in few transactions, and sleeps until the next due time.
///
/// The sending itself is in `ReminderWorker+Batch.swift`.
public final class ReminderWorker: Service, Sendable {
    let queue: any DeliveryQueue
    let transport: any MailTransport
    let messages: ReminderMessages
    let clock: any WallClock
    let settings: WorkerSettings
    let owner: String
    let logger: Logger
    public let wakeup: Wakeup
    let jitter: @Sendable () -> Double
    let metrics: AppMetrics?
    let ledger: AcceptanceLedger?
    /// Whether the mail server is believed down, and until when nothing is sent.
    let backoff = Mutex(ConnectionBackoff())

    public init(
        queue: any DeliveryQueue, transport: any MailTransport, messages: ReminderMessages, clock: any WallClock, settings: WorkerSettings,
        owner: String, logger: Logger, wakeup: Wakeup = Wakeup(), metrics: AppMetrics? = nil, ledger: AcceptanceLedger? = nil,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
        self.ledger = ledger
        self.metrics = metrics
        self.queue = queue
        self.transport = transport
        self.messages = messages
        self.clock = clock
        self.settings = settings
        self.owner = owner
        self.logger = logger
        self.wakeup = wakeup
        self.jitter = jitter
    }

    public func run() async throws {
        logger.info("reminder worker started", metadata: ["owner": .string(owner)])
        await withGracefulShutdownHandler {
            var lastPurge: Timestamp?
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                do {
                    let outage = backoff.withLock { $0.remaining(at: clock.now()) }
                    if outage > 0 {
                        await wakeup.wait(timeout: .milliseconds(outage))
                        continue
                    }
                    try await drainDueBatches()
                    let now = clock.now()
                    if lastPurge.map({ now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch >= settings.purgeInterval.totalMilliseconds })
                        ?? true
                    {
                        lastPurge = now
                        try await purgeHistory()
                    }
                    let pause = try await sleepDuration()
                    logger.debug("reminder worker idle", metadata: ["sleep_ms": .stringConvertible(pause.totalMilliseconds)])
                    await wakeup.wait(timeout: pause)
                } catch {
                    logger.error("reminder worker pass failed", metadata: ["error": .string(String(reflecting: error))])
                    await wakeup.wait(timeout: settings.pollInterval)
                }
            }
        } onGracefulShutdown: { [wakeup] in
            wakeup.signal()
        }
        // Every outcome is in the database (a batch always ends with a flush), so the ledger
        // has nothing left to tell.
        ledger?.removeAll()
        logger.info("reminder worker stopped", metadata: ["owner": .string(owner)])
    }

    /// Deletes finished deliveries older than the retention, a small batch per statement so
    /// that senders never wait long for the writer; returns how many went.
    @discardableResult
    public func purgeHistory() async throws -> Int {
        let cutoff = clock.now().adding(milliseconds: -settings.retention.totalMilliseconds)
        var total = 0
        while !Task.isShuttingDownGracefully {
            let deleted = try await queue.purge(finishedBefore: cutoff, limit: settings.purgeBatch)
            total += deleted
            if deleted < settings.purgeBatch { break }
        }
        if total > 0 { logger.info("deleted finished deliveries past their retention", metadata: ["count": .stringConvertible(total)]) }
        return total
    }

    /// Time until the next delivery is claimed (a moment before it falls due), bounded by the
    /// poll interval.
    func sleepDuration() async throws -> Duration {
        guard let next = try await queue.nextWakeUp() else { return settings.pollInterval }
        let claimAt = next.millisecondsSinceEpoch - settings.lookaheadMilliseconds
        let milliseconds = max(0, claimAt - clock.now().millisecondsSinceEpoch)
        return min(settings.pollInterval, .milliseconds(milliseconds))
    }

    static func decide(_ item: ClaimedDelivery, now: Timestamp) -> DeliveryDecision {
        DeliveryDecision.decide(
            item.delivery, event: item.event, subscriptionActive: item.subscriptionActive, subscriptionPending: item.subscriptionPending,
            now: now)
    }

    /// Counts an outcome in the metrics (and a reminder's lateness when it is sent).
    func record(_ delivery: Delivery, _ outcome: DeliveryOutcome) -> DeliveryOutcome {
        guard let metrics else { return outcome }
        let name: String
        switch outcome {
        case .sent(let at):
            name = "sent"
            if delivery.kind == .reminder {
                metrics.recordLateness(milliseconds: at.millisecondsSinceEpoch - delivery.dueAt.millisecondsSinceEpoch)
            }
        case .retry: name = "retried"
        case .failed: name = "failed"
        case .skipped: name = "skipped"
        case .cancelled: name = "cancelled"
        case .deferred: name = "deferred"
        }
        metrics.recordDelivery(kind: delivery.kind.rawValue, outcome: name)
        return outcome
    }

    /// What a refused message becomes: retried later with its attempts counted, or failed; when
    /// the server was unreachable, deferred as a whole without spending an attempt.
    func failure(_ delivery: Delivery, _ error: any Error) -> DeliveryOutcome {
        let mailError = error as? MailError ?? MailError(.transient, String(describing: error))
        if mailError.serverUnavailable {
            let until = serverUnavailable(mailError)
            return .deferred(at: max(until, delivery.nextAttemptAt), error: mailError.message)
        }
        let attempts = delivery.attempts
        if mailError.kind == .permanent || attempts >= settings.retry.maxAttempts {
            logger.warning("delivery failed", metadata: ["delivery": .stringConvertible(delivery.id), "error": .string(mailError.message)])
            return .failed(error: mailError.message)
        }
        let delay = settings.retry.delay(afterAttempt: attempts, jitter: jitter())
        logger.info(
            "delivery will be retried",
            metadata: [
                "delivery": .stringConvertible(delivery.id), "attempt": .stringConvertible(attempts), "error": .string(mailError.message),
            ]
        )
        return .retry(at: clock.now().adding(milliseconds: delay), error: mailError.message)
    }

    /// Notes that the mail server could not be reached; returns when to try it again.
    @discardableResult
    func serverUnavailable(_ error: MailError) -> Timestamp {
        let (until, failures) = backoff.withLock { backoff in
            let now = clock.now()
            // One outage seen by several connections at once counts once.
            if let until = backoff.until, backoff.remaining(at: now) > 0 { return (until, backoff.consecutiveFailures) }
            return (backoff.failed(at: now, jitter: jitter() * 0.2), backoff.consecutiveFailures)
        }
        if let metrics {
            metrics.recordConnectionFailure()
            metrics.setBackoff(milliseconds: until.millisecondsSinceEpoch - clock.now().millisecondsSinceEpoch)
        }
        logger.warning(
            "mail server unavailable; backing off",
            metadata: ["error": .string(error.message), "failures": .stringConvertible(failures), "until": .string(until.rfc3339)])
        return until
    }

    /// Notes that the mail server accepted a message: any outage is over.
    func serverAccepted() {
        let wasDown = backoff.withLock { backoff in
            defer { backoff.succeeded() }
            return backoff.consecutiveFailures > 0
        }
        if wasDown {
            metrics?.setBackoff(milliseconds: 0)
            logger.info("mail server reachable again")
        }
    }
}
