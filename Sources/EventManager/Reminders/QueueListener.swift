import Logging
import PostgresNIO
import ServiceLifecycle

/// Wakes this node's worker when another node writes mail that falls due soon (PostgreSQL
/// `LISTEN event_manager_queue`).
///
/// A notification is only a hint: the worker still polls, so one lost while the connection was
/// down costs at most one poll interval. After a reconnect the worker is woken once to catch up.
struct QueueListener: Service {
    let store: DatabaseStore
    let wakeup: Wakeup
    let logger: Logger
    var retryDelay: Duration = .seconds(1)

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await store.withDedicatedConnection { connection in
                        try await connection.listen(on: SQLReminderStore.notifyChannel) { notifications in
                            logger.debug("listening for queue notifications")
                            wakeup.signal()
                            for try await _ in notifications { wakeup.signal() }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    logger.warning(
                        "queue notifications unavailable; polling until they are back",
                        metadata: ["error": .string(String(reflecting: error))])
                }
                try await Task.sleep(for: retryDelay)
            }
        }
    }
}
