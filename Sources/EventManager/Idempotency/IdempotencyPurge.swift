import EventManagerCore
import Logging
import ServiceLifecycle

/// Deletes expired idempotency keys every ten minutes, a thousand at a time, so the table holds
/// about one `idempotency.ttl_hours` of writes. Several API nodes may purge at once: each
/// deletes what is expired, and none needs the others.
struct IdempotencyPurge: Service {
    let store: any IdempotencyStore
    let clock: any WallClock
    let logger: Logger
    var interval: Duration = .seconds(600)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    while try await store.purge(now: clock.now(), limit: 1000) == 1000 {}
                } catch {
                    logger.warning("expired idempotency keys not purged", metadata: ["error": .string(String(describing: error))])
                }
                // Real time, not the injected clock: how often is no rule, and a test's clock
                // that jumps on every sleep must not spin this loop.
                try? await Task.sleep(for: interval)
            }
        }
    }
}
