import SQLKit
import Synchronization

/// Commits SQLite writes that wait at the same moment together: one transaction and one fsync
/// for the group instead of one each.
///
/// SQLite has one writer per file and `synchronous=FULL` makes every commit wait for the disk, so
/// with one transaction per request the disk's flush rate caps the write rate. Writers that arrive
/// while a group is committing queue here, and the next group takes all of them: its leader runs
/// every queued body on one connection, each inside its own SAVEPOINT. A body that throws
/// (validation, a constraint) rolls back to its savepoint and fails alone; the others go on. No
/// caller is answered before the group's COMMIT returns, so a crash loses only writes nobody was
/// told about. If the COMMIT itself fails, every member of the group gets that error.
///
/// Running the bodies one after another on one connection is what SQLite's single writer did
/// before, so no body sees anything it could not see then. A group first runs its bodies without
/// savepoints (two statements per write fewer); only when one throws is it rolled back and run
/// again with them, so a body may run twice: bodies do nothing but SQL and pure computation.
package final class GroupCommit: Sendable {
    /// One queued write: its body, and its caller waiting for the group's outcome.
    struct Member: Sendable {
        let body: @Sendable (any SQLDatabase) async throws -> Void
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var queue: [Member] = []
        var leading = false
    }

    private let state = Mutex(State())
    private let committed = Atomic<Int>(0)
    /// Most members in one group; bounds how long the first of them waits for the last.
    let maximumGroupSize: Int

    /// Where a group's leader runs (the SQLite writer's thread), or nil for the global executor.
    private let executor: (any TaskExecutor)?

    init(maximumGroupSize: Int = 128, executor: (any TaskExecutor)? = nil) {
        self.maximumGroupSize = maximumGroupSize
        self.executor = executor
    }

    /// Queues `body`; returns once its group committed, or throws its own error or the group's.
    ///
    /// - Parameter runGroup: runs one group (opens the transaction, runs the members, commits)
    ///   and settles every member's continuation exactly once.
    func submit(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Void,
        runGroup: @escaping @Sendable ([Member]) async -> Void
    ) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startsLeader = state.withLock { state -> Bool in
                state.queue.append(Member(body: body, continuation: continuation))
                guard !state.leading else { return false }
                state.leading = true
                return true
            }
            if startsLeader {
                Task(executorPreference: executor) { await self.lead(runGroup) }
            }
        }
    }

    /// Runs groups until nobody waits.
    private func lead(_ runGroup: @Sendable ([Member]) async -> Void) async {
        while true {
            let group = state.withLock { state -> [Member] in
                let count = min(state.queue.count, maximumGroupSize)
                let group = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                if group.isEmpty { state.leading = false }
                return group
            }
            if group.isEmpty { return }
            await runGroup(group)
            committed.add(1, ordering: .relaxed)
        }
    }

    /// Writes queued for the next group (tests use it to know a group is formed).
    package var waiting: Int { state.withLock { $0.queue.count } }

    /// Groups run so far, committed or failed.
    package var groupsRun: Int { committed.load(ordering: .relaxed) }
}

/// Holds one group member's value from its body until its caller, woken after the commit, takes it.
final class ResultSlot<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    func store(_ newValue: Value) { value.withLock { $0 = newValue } }

    /// The stored value; only called after the body returned without throwing.
    func take() -> Value { value.withLock { $0.take()! } }
}
