import Foundation
import Synchronization
import Testing

/// Set-up and tear-down as a Swift Testing trait: helpers that create something to clean up
/// (a database, a store, a child process) register it with `TestResources.current()`, and the
/// trait runs the clean-ups, newest first, when the test case ends, pass or fail, before the
/// next test starts. Suites that use such helpers carry `.resources`.
struct TestResources: TestTrait, SuiteTrait, TestScoping {
    var isRecursive: Bool { true }

    @TaskLocal static var scope: Scope?

    /// The clean-ups of one running test case.
    final class Scope: Sendable {
        private let actions = Mutex<[@Sendable () async -> Void]>([])

        /// Registers `action` to run when the test case ends.
        func onEnd(_ action: @escaping @Sendable () async -> Void) {
            actions.withLock { $0.append(action) }
        }

        /// Makes sure `process` is gone when the test ends. A child still running then outlived
        /// its test (its helper did not stop it, or it ignored the signal it was sent): the test
        /// fails, and the child is killed and awaited so it cannot outlive `swift test` either.
        func own(_ process: Process, name: String) {
            onEnd {
                guard process.isRunning else { return }
                let exited = await Self.waitForExit(process, within: .seconds(20))
                if !exited {
                    Issue.record("\(name) (pid \(process.processIdentifier)) outlived its test; killed")
                    kill(process.processIdentifier, SIGKILL)
                    _ = await Self.waitForExit(process, within: .seconds(30))
                }
            }
        }

        /// Waits for the child's exit, told by Foundation's termination handler (chained to
        /// any handler already set), on a thread of its own: waiting blocks. The kernel's view is
        /// polled as well: a child that has exited is a zombie until Foundation reaps it, and a
        /// termination notice Foundation misses must not read as a child that would not stop.
        private static func waitForExit(_ process: Process, within limit: Duration) async -> Bool {
            let exited = DispatchSemaphore(value: 0)
            let previous = process.terminationHandler
            process.terminationHandler = { child in
                previous?(child)
                exited.signal()
            }
            guard process.isRunning else { return true }
            let pid = process.processIdentifier
            return await withCheckedContinuation { continuation in
                Thread {
                    let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
                    let deadline = Date().addingTimeInterval(seconds)
                    while Date() < deadline {
                        if exited.wait(timeout: .now() + 0.1) == .success || !isAlive(pid) {
                            return continuation.resume(returning: true)
                        }
                    }
                    continuation.resume(returning: false)
                }.start()
            }
        }

        /// False once `pid` has exited: gone from `/proc`, or a zombie waiting to be reaped.
        private static func isAlive(_ pid: Int32) -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let end = stat.lastIndex(of: ")")
            else { return false }
            let state = stat[stat.index(after: end)...].drop { $0 == " " }.first
            return state != "Z" && state != "X"
        }

        func end() async {
            let actions = self.actions.withLock { actions in
                defer { actions.removeAll() }
                return actions
            }
            for action in actions.reversed() { await action() }
        }
    }

    /// The running test case's scope.
    /// - Throws: when the test does not carry the `.resources` trait.
    static func current() throws -> Scope {
        guard let scope else { throw TestSetupError("this test creates resources: give it (or its suite) the .resources trait") }
        return scope
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil, Self.scope == nil else { return try await function() }
        let scope = Scope()
        do {
            try await Self.$scope.withValue(scope) { try await function() }
        } catch {
            await scope.end()
            throw error
        }
        await scope.end()
    }
}

extension Trait where Self == TestResources {
    /// Cleans up what the test created when it ends (see `TestResources`).
    static var resources: Self { TestResources() }
}
