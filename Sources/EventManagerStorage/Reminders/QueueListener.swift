import EventManagerCore
import Logging
import PostgresNIO
import ServiceLifecycle

/// Wakes this node's worker when another node writes mail that falls due soon (PostgreSQL
/// `LISTEN event_manager_queue`).
///
/// A notification is only a hint: the worker still polls, so one lost while the connection was
/// down costs at most one poll interval. After a reconnect the worker is woken once to catch up.
public struct QueueListener: Service {
    let store: DatabaseStore
    /// Called for every notification, and once after each (re)connect to catch up.
    let wake: @Sendable () -> Void
    let logger: Logger
    var retryDelay: Duration = .seconds(1)

    public init(store: DatabaseStore, logger: Logger, wake: @escaping @Sendable () -> Void) {
        self.store = store
        self.logger = logger
        self.wake = wake
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await store.withDedicatedConnection { connection in
                        try await connection.listen(on: QueueWriter.notifyChannel) { notifications in
                            logger.debug("listening for queue notifications")
                            wake()
                            for try await _ in notifications { wake() }
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
