import EventManagerCore
import EventManagerMail
import Logging
import Synchronization

/// A claimed delivery decided to go, waiting for a connection and its due time.
struct PreparedMail: Sendable {
    var item: ClaimedDelivery
    var claimedAt: Timestamp
}

/// What a connection does after one message.
enum LaneStep {
    case next
    /// The server dropped the session: open another.
    case reconnect
    /// This worker should send no more of the batch (its lease ran out, or outcomes cannot be written).
    case stop
}

/// Deliveries leased to this worker in one claim.
struct Claim: Sendable {
    var items: [ClaimedDelivery]
    var at: Timestamp
}

extension ReminderWorker {
    /// Claims what falls due within the lookahead, renders it, and hands each message over at
    /// its due time on up to `connections` sessions; returns how many it claimed.
    @discardableResult
    public func processDueBatch() async throws -> Int {
        try await process(try await claimDue())
    }

    /// Sends batches while the queue has due mail; while one batch goes out the next is claimed,
    /// so the connections do not wait for the claim.
    func drainDueBatches() async throws {
        var upcoming: Task<Claim, any Error>?
        do {
            while !Task.isShuttingDownGracefully {
                let claim: Claim
                if let upcoming {
                    claim = try await upcoming.value
                } else {
                    claim = try await claimDue()
                }
                upcoming = nil
                guard !claim.items.isEmpty else { return }
                if claim.items.count == settings.batchSize {
                    upcoming = Task { try await self.claimDue() }
                }
                _ = try await process(claim)
            }
            if let upcoming { try await giveBack(upcoming.value) }
        } catch {
            if let upcoming, let claim = try? await upcoming.value { try? await giveBack(claim) }
            throw error
        }
    }

    /// Puts a claim this worker will not send back in the queue (shutting down, or a failure).
    private func giveBack(_ claim: Claim) async throws {
        guard !claim.items.isEmpty else { return }
        let outcomes = claim.items.map { ($0.delivery.id, DeliveryOutcome.deferred(at: $0.delivery.nextAttemptAt, error: "given back")) }
        try await queue.complete(outcomes, owner: owner, now: clock.now())
    }

    /// Leases up to a batch of deliveries due within the lookahead.
    func claimDue() async throws -> Claim {
        try await takeOverFromDeadWorkers()
        let claimedAt = clock.now()
        let claimed = try await queue.claim(
            owner: owner, limit: settings.batchSize, now: claimedAt, dueBy: claimedAt.adding(milliseconds: settings.lookaheadMilliseconds),
            leaseMilliseconds: settings.leaseMilliseconds
        )
        return Claim(items: claimed, at: claimedAt)
    }

    /// Sends one claim and writes its outcomes; returns how many deliveries it held.
    func process(_ claim: Claim) async throws -> Int {
        let claimed = claim.items
        let claimedAt = claim.at
        guard !claimed.isEmpty else { return 0 }
        let book = OutcomeBook(
            queue: queue, owner: owner, ledger: ledger, flushEvery: settings.commitEvery, ids: claimed.map(\.delivery.id),
            claimedAt: claimedAt, leaseMilliseconds: settings.leaseMilliseconds
        )
        var prepared: [PreparedMail] = []
        for item in claimed {
            switch Self.decide(item, now: max(claimedAt, item.delivery.nextAttemptAt)) {
            case .send: prepared.append(PreparedMail(item: item, claimedAt: claimedAt))
            case .skip(let reason): book.settle(item.delivery.id, record(item.delivery, .skipped(reason)))
            case .cancel(let reason): book.settle(item.delivery.id, record(item.delivery, .cancelled(reason)))
            }
        }
        if !prepared.isEmpty { await send(prepared, book: book) }
        try await book.flush(now: clock.now())
        return claimed.count
    }

    /// Records what workers that died had handed over, and puts their leases back, before this
    /// one claims: nothing they sent goes out twice, nothing they held waits for a lease to end.
    func takeOverFromDeadWorkers() async throws {
        guard let ledger else { return }
        for orphan in AcceptanceLedger.orphans(in: ledger.directory) {
            do {
                try await queue.recordAccepted(orphan.accepted, now: clock.now())
                try await queue.release(owner: orphan.owner, now: clock.now())
                orphan.discard()
                logger.notice(
                    "took over from a worker that stopped",
                    metadata: ["owner": .string(orphan.owner), "accepted": .stringConvertible(orphan.accepted.count)])
            } catch {
                orphan.keep()
                throw error
            }
        }
    }

    /// Sends `prepared` (in due order) over several sessions that take the next message as they
    /// become free. What no session could take (the server is down) goes back to the queue.
    private func send(_ prepared: [PreparedMail], book: OutcomeBook) async {
        let cursor = Mutex(0)
        let take: @Sendable () -> PreparedMail? = {
            cursor.withLock { next in
                guard next < prepared.count else { return nil }
                defer { next += 1 }
                return prepared[next]
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<min(max(1, settings.connections), prepared.count) {
                group.addTask { await self.runLane(take: take, book: book) }
            }
        }
        while let left = take() {
            let until = backoff.withLock { $0.until } ?? clock.now()
            let outcome = DeliveryOutcome.deferred(
                at: max(until, left.item.delivery.nextAttemptAt), error: "the mail server is unavailable")
            book.settle(left.item.delivery.id, record(left.item.delivery, outcome))
        }
    }

    /// One connection's share: opens a session, sends until there is nothing left, and opens a
    /// new one when the server drops it. Ends when the server cannot be reached.
    private func runLane(take: @Sendable () -> PreparedMail?, book: OutcomeBook) async {
        let cache = ReminderMessages.Cache()
        var stop = false
        while !stop, let first = take() {
            var started = false
            do {
                try await transport.withSession { session in
                    started = true
                    var next: PreparedMail? = first
                    while let current = next {
                        switch await deliver(current, over: session, book: book, cache: cache) {
                        case .next: next = take()
                        case .reconnect: return
                        case .stop:
                            stop = true
                            return
                        }
                    }
                }
            } catch {
                // The session did not open: the message it was for has not been tried.
                if !started {
                    let mailError = error as? MailError ?? MailError(.transient, "\(error)", serverUnavailable: true)
                    var unavailable = mailError
                    unavailable.serverUnavailable = true
                    book.settle(first.item.delivery.id, record(first.item.delivery, failure(first.item.delivery, unavailable)))
                    return
                }
                logger.debug("mail session ended with an error", metadata: ["error": .string("\(error)")])
            }
        }
    }

    /// Renders one message, hands it over at its due time and records the outcome.
    ///
    /// Rendering here, on the connection that sends it, spreads it over the cores and lets the
    /// first message go while the others are rendered; a message claimed ahead of its due time
    /// is rendered before it.
    private func deliver(
        _ prepared: PreparedMail, over session: any MailSession, book: OutcomeBook, cache: ReminderMessages.Cache
    ) async -> LaneStep {
        let delivery = prepared.item.delivery
        let mail = messages.compose(
            prepared.item, now: max(prepared.claimedAt, min(clock.now(), delivery.nextAttemptAt)), cache: cache)
        do {
            try await clock.sleep(until: delivery.nextAttemptAt)
        } catch {
            book.settle(delivery.id, .deferred(at: delivery.nextAttemptAt, error: "the worker stopped"))
            return .stop
        }
        do {
            guard try await book.keepLease(now: clock.now(), margin: min(1000, settings.leaseMilliseconds / 10)) else {
                // This process stalled past its lease: another worker may hold the message now.
                logger.warning("lease ran out; leaving the rest to be reclaimed", metadata: ["owner": .string(owner)])
                return .stop
            }
        } catch {
            logger.error("cannot renew leases", metadata: ["error": .string(String(reflecting: error))])
            return .stop
        }
        guard book.holds(delivery.id) else { return .next }
        let now = clock.now()
        // Decided again at the moment of sending: never deliver a reminder after the start.
        if case .skip(let reason) = Self.decide(prepared.item, now: now) {
            book.settle(delivery.id, record(delivery, .skipped(reason)))
            return .next
        }
        do {
            try await session.begin(mail)
            try await session.end { [book, clock] in book.accepted(delivery.id, at: clock.now()) }
            _ = record(delivery, .sent(at: clock.now()))
            serverAccepted()
        } catch {
            book.settle(delivery.id, record(delivery, failure(delivery, error)))
        }
        do {
            if book.wantsFlush { try await book.flush(now: clock.now()) }
        } catch {
            logger.error("cannot record outcomes", metadata: ["error": .string(String(reflecting: error))])
            return .stop
        }
        return session.isUsable ? .next : .reconnect
    }
}
