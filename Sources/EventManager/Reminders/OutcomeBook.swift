import EventManagerCore
import Synchronization

/// The outcomes of one claimed batch: kept in memory, written to the queue in few transactions,
/// while the batch's leases are kept alive.
///
/// An accepted message goes to the acceptance ledger first (one `write`), so outcomes need no
/// round trip per message: they are written when the batch ends or a lease needs renewing.
/// Without a ledger they are written every `flushEvery` messages, which is then what a crash
/// can send twice.
final class OutcomeBook: Sendable {
    private struct State {
        var pending: [(id: Int64, outcome: DeliveryOutcome)] = []
        /// Claimed, with no outcome yet: what a renewal keeps.
        var open: Set<Int64>
        /// Taken over by another worker after this one's lease ran out: left alone.
        var lost: Set<Int64> = []
        var heldUntil: Timestamp
        var renewedAt: Timestamp
    }

    let queue: any DeliveryQueue
    let owner: String
    let ledger: AcceptanceLedger?
    let flushEvery: Int
    let leaseMilliseconds: Int64
    /// The ledger line and the pending outcome are written under one lock, and a flush rotates
    /// the ledger under it too: every line of a rotated file is in that flush's outcomes.
    private let state: Mutex<State>
    /// One write at a time, so that a ledger file is deleted only after all its lines are written.
    private let turns = FIFOLock()

    init(
        queue: any DeliveryQueue, owner: String, ledger: AcceptanceLedger?, flushEvery: Int, ids: [Int64], claimedAt: Timestamp,
        leaseMilliseconds: Int64
    ) {
        self.queue = queue
        self.owner = owner
        self.ledger = ledger
        self.flushEvery = flushEvery
        self.leaseMilliseconds = leaseMilliseconds
        self.state = Mutex(
            State(open: Set(ids), heldUntil: claimedAt.adding(milliseconds: leaseMilliseconds), renewedAt: claimedAt))
    }

    /// The server accepted `id` at `at`: in the ledger before this returns. Runs at the moment
    /// of acceptance (on the mail connection's event loop), so it only takes a lock and writes.
    func accepted(_ id: Int64, at: Timestamp) {
        state.withLock { state in
            ledger?.append(id: id, at: at)
            state.pending.append((id, .sent(at: at)))
            state.open.remove(id)
        }
    }

    /// Any other outcome: nothing to lose in a crash, since the message was not accepted.
    func settle(_ id: Int64, _ outcome: DeliveryOutcome) {
        state.withLock { state in
            state.pending.append((id, outcome))
            state.open.remove(id)
        }
    }

    /// Whether this worker still holds `id`'s lease.
    func holds(_ id: Int64) -> Bool { state.withLock { !$0.lost.contains(id) } }

    /// Without a ledger, outcomes must not pile up: a crash would send them again.
    var wantsFlush: Bool { ledger == nil && state.withLock { $0.pending.count } >= flushEvery }

    /// Renews the batch's leases once a third of the lease has passed (writing what is pending
    /// first), so a slow mail server never lets another worker take a message this one is
    /// sending; returns false when the lease ran out anyway (this process stalled).
    ///
    /// Callers line up behind a renewal in progress instead of racing past it.
    func keepLease(now: Timestamp, margin: Int64) async throws -> Bool {
        let due = state.withLock { now.millisecondsSinceEpoch - $0.renewedAt.millisecondsSinceEpoch >= leaseMilliseconds / 3 }
        if due {
            try await turns.withLock {
                let rest = state.withLock { state -> Set<Int64>? in
                    guard now.millisecondsSinceEpoch - state.renewedAt.millisecondsSinceEpoch >= leaseMilliseconds / 3 else { return nil }
                    state.renewedAt = now
                    return state.open.subtracting(state.lost)
                }
                guard let rest else { return }
                try await writePending(now: now)
                guard !rest.isEmpty else { return }
                let until = now.adding(milliseconds: leaseMilliseconds)
                let kept = try await queue.renew(Array(rest), owner: owner, until: until)
                state.withLock { state in
                    state.lost.formUnion(rest.subtracting(kept))
                    state.heldUntil = until
                }
            }
        }
        return state.withLock { now.adding(milliseconds: margin) < $0.heldUntil }
    }

    /// Writes every pending outcome in one transaction, then deletes the ledger lines it covered.
    /// On failure the outcomes stay pending (and in the ledger) for the next flush.
    func flush(now: Timestamp) async throws {
        try await turns.withLock { try await writePending(now: now) }
    }

    private func writePending(now: Timestamp) async throws {
        let (batch, generation) = try state.withLock { state -> ([(id: Int64, outcome: DeliveryOutcome)], Int?) in
            guard !state.pending.isEmpty else { return ([], nil) }
            let generation = try ledger?.rotate()
            defer { state.pending.removeAll() }
            return (state.pending, generation)
        }
        guard !batch.isEmpty else { return }
        do {
            try await queue.complete(batch, owner: owner, now: now)
        } catch {
            state.withLock { $0.pending = batch + $0.pending }
            throw error
        }
        if let generation { ledger?.retireThrough(generation) }
    }
}
