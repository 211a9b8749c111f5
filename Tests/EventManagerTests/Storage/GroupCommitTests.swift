import Foundation
import SQLKit
import Synchronization
import Testing

@testable import EventManagerCore
@testable import EventManagerStorage

/// SQLite writes waiting at the same moment share one transaction; each still succeeds or fails alone.
@Suite(.resources, .timeLimit(.minutes(2))) struct GroupCommitTests {
    @Test func aFailingWriteInAGroupFailsAloneAndTheOthersCommit() async throws {
        let store = try await TemporaryDatabase.make().open()
        let gate = Gate()
        // The first write holds its group open until every other write is queued behind it,
        // so the others form the next group together.
        let first = Task {
            try await store.transaction { sql in
                await gate.enterAndWait()
                return try await Self.insert("first", on: sql)
            }
        }
        await gate.entered()
        let groupsBefore = store.groups.groupsRun
        let writes = (0..<12).map { index in
            Task { () -> Result<Int64, any Error> in
                do {
                    return .success(
                        try await store.transaction { sql in
                            let id = try await Self.insert("write \(index)", on: sql)
                            if index % 3 == 0 {
                                // A second row with the same key: the constraint refuses it after a good statement.
                                try await sql.raw(
                                    "INSERT INTO events (id, title, location, starts_at, timezone, date_only, popularity, created_at, updated_at) VALUES (\(bind: id), 'dup', 'x', 0, 'UTC', 0, 0, 0, 0)"
                                ).run()
                            }
                            if index % 3 == 1 && index > 6 { throw AppError(.validation, code: "test", message: "refused by the body") }
                            return id
                        })
                } catch {
                    return .failure(error)
                }
            }
        }
        while store.groups.waiting < writes.count { await Task.yield() }
        gate.open()

        _ = try await first.value
        var kept: [String] = []
        for (index, write) in writes.enumerated() {
            let outcome = await write.value
            let fails = index % 3 == 0 || (index % 3 == 1 && index > 6)
            switch outcome {
            case .success:
                #expect(!fails, "write \(index) should have failed")
                kept.append("write \(index)")
            case .failure(let error):
                #expect(fails, "write \(index) failed: \(error)")
                if index % 3 == 0 { #expect(error.isConstraintFailure) } else { #expect(error is AppError) }
            }
        }
        #expect(store.groups.groupsRun == groupsBefore + 2, "the first write's group and one group of the twelve")
        let titles = try await store.sqlRaw("SELECT title FROM events ORDER BY id").all().map {
            try $0.decode(column: "title", as: String.self)
        }
        #expect(titles == ["first"] + kept)
        #expect(kept.count == 6)
    }

    @Test func writesFromManyTasksAllLand() async throws {
        let store = try await TemporaryDatabase.make().open()
        let repository = SQLEventRepository(store: store)
        let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await repository.create(
                        [EventDraft(title: "Event \(index)", location: "Here", date: DateInput.parse("2031-01-01")!)],
                        now: Timestamp(millisecondsSinceEpoch: 1))[0].id
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(ids).count == 200)
        let count = try await store.sqlRaw("SELECT COUNT(*) AS n FROM events").first()?.decode(column: "n", as: Int.self)
        #expect(count == 200)
        #expect(store.groups.groupsRun < 200, "some writes shared a commit")
    }

    private static func insert(_ title: String, on sql: any SQLDatabase) async throws -> Int64 {
        let row = try await sql.raw(
            "INSERT INTO events (title, location, starts_at, timezone, date_only, popularity, created_at, updated_at) VALUES (\(bind: title), 'x', 0, 'UTC', 0, 0, 0, 0) RETURNING id"
        ).first()
        return try row!.decode(column: "id", as: Int64.self)
    }
}

/// Lets a test hold a body at a known point: the body enters and waits; the test waits for the
/// entry, does its work, then opens the gate.
final class Gate: Sendable {
    private struct State {
        var hasEntered = false
        var isOpen = false
        var entryWaiter: CheckedContinuation<Void, Never>?
        var openWaiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func enterAndWait() async {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.hasEntered = true
            defer { state.entryWaiter = nil }
            return state.entryWaiter
        }
        waiter?.resume()
        await withCheckedContinuation { continuation in
            let proceed = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.openWaiter = continuation
                return false
            }
            if proceed { continuation.resume() }
        }
    }

    func entered() async {
        await withCheckedContinuation { continuation in
            let proceed = state.withLock { state -> Bool in
                if state.hasEntered { return true }
                state.entryWaiter = continuation
                return false
            }
            if proceed { continuation.resume() }
        }
    }

    func open() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.isOpen = true
            defer { state.openWaiter = nil }
            return state.openWaiter
        }
        waiter?.resume()
    }
}
