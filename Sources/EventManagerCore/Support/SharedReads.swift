import Synchronization

/// One read shared by every caller that asked for it while the previous one was under way.
///
/// An API node on PostgreSQL asks the database for the events' change counter before it reuses
/// anything it kept (see `VersionedEventRepository`). Asked by every request, that read would
/// cost as much as reading the event itself; shared, 32 concurrent requests cost one read per
/// round trip. A caller always gets a value read after it asked: one that arrives while a read
/// is under way waits for the next, so no answer predates a write that committed before its
/// request came in.
public final class SharedReads<Value: Sendable>: Sendable {
    private struct State {
        var running = false
        var waiting: [CheckedContinuation<Value, any Error>] = []
    }

    private let state = Mutex(State())
    private let read: @Sendable () async throws -> Value

    public init(_ read: @escaping @Sendable () async throws -> Value) {
        self.read = read
    }

    /// A value read after this call began.
    public func next() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let starts = state.withLock { state in
                state.waiting.append(continuation)
                guard !state.running else { return false }
                state.running = true
                return true
            }
            if starts { Task { await self.runRounds() } }
        }
    }

    /// Callers waiting for the next read (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Reads for everyone waiting, round after round, until nobody waits.
    private func runRounds() async {
        while true {
            let round = state.withLock { state in
                let round = state.waiting
                state.waiting = []
                if round.isEmpty { state.running = false }
                return round
            }
            if round.isEmpty { return }
            do {
                let value = try await read()
                for waiter in round { waiter.resume(returning: value) }
            } catch {
                for waiter in round { waiter.resume(throwing: error) }
            }
        }
    }
}
