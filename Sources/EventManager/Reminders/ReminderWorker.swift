import EventManagerCore
import EventManagerMail
import EventManagerMetrics
import Logging
import ServiceLifecycle

/// Sends what the queue says is due: claims a batch under a lease, sends it over one mail
/// session, records every outcome in one transaction, and sleeps until the next due time.
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

    public init(
        queue: any DeliveryQueue, transport: any MailTransport, messages: ReminderMessages, clock: any WallClock, settings: WorkerSettings,
        owner: String, logger: Logger, wakeup: Wakeup = Wakeup(), metrics: AppMetrics? = nil,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
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
                    while try await processDueBatch() > 0 && !Task.isShuttingDownGracefully {}
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

    /// Time until the next delivery falls due, bounded by the poll interval.
    func sleepDuration() async throws -> Duration {
        guard let next = try await queue.nextWakeUp() else { return settings.pollInterval }
        let milliseconds = max(0, next.millisecondsSinceEpoch - clock.now().millisecondsSinceEpoch)
        return min(settings.pollInterval, .milliseconds(milliseconds))
    }

    /// Claims and handles one batch of due deliveries; returns how many it claimed.
    @discardableResult
    public func processDueBatch() async throws -> Int {
        let claimedAt = clock.now()
        let claimed = try await queue.claim(
            owner: owner, limit: settings.batchSize, now: claimedAt, leaseMilliseconds: settings.leaseMilliseconds
        )
        guard !claimed.isEmpty else { return 0 }
        var decided: [(id: Int64, outcome: DeliveryOutcome)] = []
        var toSend: [ClaimedDelivery] = []
        for item in claimed {
            switch Self.decide(item, now: clock.now()) {
            case .send: toSend.append(item)
            case .skip(let reason): decided.append((item.delivery.id, record(item.delivery, .skipped(reason))))
            case .cancel(let reason): decided.append((item.delivery.id, record(item.delivery, .cancelled(reason))))
            }
        }
        try await queue.complete(decided, owner: owner, now: clock.now())
        if !toSend.isEmpty {
            try await send(toSend, leaseUntil: claimedAt.adding(milliseconds: settings.leaseMilliseconds))
        }
        return claimed.count
    }

    /// Sends over one session, committing outcomes every `commitEvery` messages: a crash then
    /// re-sends only the messages since the last commit (with the same Message-ID).
    ///
    /// Each commit also renews the lease on the rest of the batch, so a slow mail server never
    /// lets another worker reclaim messages this one is still sending. A message whose lease was
    /// lost anyway (this process stalled) is left to the worker that now holds it.
    private func send(_ items: [ClaimedDelivery], leaseUntil: Timestamp) async throws {
        var pending: [(id: Int64, outcome: DeliveryOutcome)] = []
        var handled = Set<Int64>()
        var heldUntil = leaseUntil
        var lost = Set<Int64>()
        let margin = min(1000, settings.leaseMilliseconds / 10)
        do {
            try await transport.withSession { session in
                for (index, item) in items.enumerated() {
                    handled.insert(item.delivery.id)
                    if lost.contains(item.delivery.id) { continue }
                    let now = clock.now()
                    if now.adding(milliseconds: margin) >= heldUntil {
                        logger.warning("lease ran out mid-batch; leaving the rest to be reclaimed", metadata: ["owner": .string(owner)])
                        for rest in items[index...] { handled.insert(rest.delivery.id) }
                        break
                    }
                    // Decided again per message: a long batch must not deliver a reminder after the start.
                    if case .skip(let reason) = Self.decide(item, now: now) {
                        pending.append((item.delivery.id, record(item.delivery, .skipped(reason))))
                    } else {
                        do {
                            try await session.send(messages.compose(item, now: now))
                            pending.append((item.delivery.id, record(item.delivery, .sent(at: clock.now()))))
                        } catch {
                            pending.append((item.delivery.id, record(item.delivery, failure(item.delivery, error))))
                        }
                    }
                    if pending.count >= settings.commitEvery {
                        try await queue.complete(pending, owner: owner, now: clock.now())
                        pending.removeAll()
                        let rest = items[(index + 1)...].map(\.delivery.id).filter { !lost.contains($0) }
                        if !rest.isEmpty {
                            let until = clock.now().adding(milliseconds: settings.leaseMilliseconds)
                            let kept = try await queue.renew(rest, owner: owner, until: until)
                            lost.formUnion(Set(rest).subtracting(kept))
                            heldUntil = until
                        }
                    }
                }
            }
        } catch {
            // The session could not open or broke: everything not yet handled is retried.
            for item in items where !handled.contains(item.delivery.id) {
                pending.append((item.delivery.id, record(item.delivery, failure(item.delivery, error))))
            }
        }
        try await queue.complete(pending, owner: owner, now: clock.now())
    }

    static func decide(_ item: ClaimedDelivery, now: Timestamp) -> DeliveryDecision {
        DeliveryDecision.decide(
            item.delivery, event: item.event, subscriptionActive: item.subscriptionActive, subscriptionPending: item.subscriptionPending,
            now: now)
    }

    /// Counts an outcome in the metrics (and a reminder's lateness when it is sent).
    private func record(_ delivery: Delivery, _ outcome: DeliveryOutcome) -> DeliveryOutcome {
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
        }
        metrics.recordDelivery(kind: delivery.kind.rawValue, outcome: name)
        return outcome
    }

    private func failure(_ delivery: Delivery, _ error: any Error) -> DeliveryOutcome {
        let mailError = error as? MailError ?? MailError(.transient, String(describing: error))
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
}
