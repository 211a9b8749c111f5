import EventManagerCore

/// The outcomes of one claimed batch: kept in memory, written to the queue in few transactions,
/// while the batch's leases are kept alive.
///
/// An accepted message goes to the acceptance ledger first (one `write`), so outcomes need no
/// round trip per message: they are written when the batch ends or a lease needs renewing.
/// Without a ledger they are written every `flushEvery` messages, which is then what a crash
/// can send twice.
actor OutcomeBook {
    let queue: any DeliveryQueue
    let owner: String
    let ledger: AcceptanceLedger?
    let flushEvery: Int
    let leaseMilliseconds: Int64
    private var pending: [(id: Int64, outcome: DeliveryOutcome)] = []
    /// Claimed, with no outcome yet: what a renewal keeps.
    private var open: Set<Int64>
    /// Taken over by another worker after this one's lease ran out: left alone.
    private var lost: Set<Int64> = []
    private var heldUntil: Timestamp
    private var renewedAt: Timestamp
    /// One write at a time, so that a ledger file is deleted only after all its lines are written.
    private let turns = AcceptanceGate()

    init(
        queue: any DeliveryQueue, owner: String, ledger: AcceptanceLedger?, flushEvery: Int, ids: [Int64], claimedAt: Timestamp,
        leaseMilliseconds: Int64
    ) {
        self.queue = queue
        self.owner = owner
        self.ledger = ledger
        self.flushEvery = flushEvery
        self.leaseMilliseconds = leaseMilliseconds
        self.open = Set(ids)
        self.heldUntil = claimedAt.adding(milliseconds: leaseMilliseconds)
        self.renewedAt = claimedAt
    }

    /// The server accepted `id` at `at`: in the ledger before this returns.
    func accepted(_ id: Int64, at: Timestamp) {
        ledger?.append(id: id, at: at)
        settle(id, .sent(at: at))
    }

    /// Any other outcome: nothing to lose in a crash, since the message was not accepted.
    func settle(_ id: Int64, _ outcome: DeliveryOutcome) {
        pending.append((id, outcome))
        open.remove(id)
    }

    /// Whether this worker still holds `id`'s lease.
    func holds(_ id: Int64) -> Bool { !lost.contains(id) }

    /// Without a ledger, outcomes must not pile up: a crash would send them again.
    var wantsFlush: Bool { ledger == nil && pending.count >= flushEvery }

    /// Renews the batch's leases once a third of the lease has passed (writing what is pending
    /// first), so a slow mail server never lets another worker take a message this one is
    /// sending; returns false when the lease ran out anyway (this process stalled).
    ///
    /// Callers line up behind a renewal in progress instead of racing past it.
    func keepLease(now: Timestamp, margin: Int64) async throws -> Bool {
        try await turns.withTurn {
            guard now.millisecondsSinceEpoch - renewedAt.millisecondsSinceEpoch >= leaseMilliseconds / 3 else { return }
            renewedAt = now
            try await writePending(now: now)
            let rest = open.subtracting(lost)
            guard !rest.isEmpty else { return }
            let until = now.adding(milliseconds: leaseMilliseconds)
            let kept = try await queue.renew(Array(rest), owner: owner, until: until)
            lost.formUnion(rest.subtracting(kept))
            heldUntil = until
        }
        return now.adding(milliseconds: margin) < heldUntil
    }

    /// Writes every pending outcome in one transaction, then deletes the ledger lines it covered.
    /// On failure the outcomes stay pending (and in the ledger) for the next flush.
    func flush(now: Timestamp) async throws {
        try await turns.withTurn { try await writePending(now: now) }
    }

    private func writePending(now: Timestamp) async throws {
        guard !pending.isEmpty else { return }
        let generation = try ledger?.rotate()
        let batch = pending
        pending.removeAll()
        do {
            try await queue.complete(batch, owner: owner, now: now)
        } catch {
            pending = batch + pending
            throw error
        }
        if let generation { ledger?.retireThrough(generation) }
    }
}
