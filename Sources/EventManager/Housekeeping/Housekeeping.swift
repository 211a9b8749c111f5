import EventManagerCore
import EventManagerStorage
import Logging
import ServiceLifecycle

/// Every ten minutes on API nodes: deletes expired idempotency keys, and the change feed's
/// tombstones older than `sync.tombstone_days`, a thousand per statement, so both tables hold
/// only what their retention promises. Several nodes may do it at once; none needs the others.
struct Housekeeping: Service {
    let idempotency: any IdempotencyStore
    let events: SQLEventRepository
    let tombstoneRetention: Duration
    let clock: any WallClock
    let logger: Logger
    var interval: Duration = .seconds(600)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweep()
                // Real time, not the injected clock: how often is no rule, and a test's clock
                // that jumps on every sleep must not spin this loop.
                try? await Task.sleep(for: interval)
            }
        }
    }

    func sweep() async {
        let now = clock.now()
        do {
            while try await idempotency.purge(now: now, limit: 1000) == 1000 {}
            let cutoff = now.adding(milliseconds: -tombstoneRetention.totalMilliseconds)
            while try await events.purgeTombstones(deletedBefore: cutoff, limit: 1000) == 1000 {}
        } catch {
            logger.warning("housekeeping did not finish", metadata: ["error": .string(String(describing: error))])
        }
    }
}
