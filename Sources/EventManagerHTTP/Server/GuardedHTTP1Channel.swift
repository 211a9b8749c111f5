import EventManagerCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 channel with a `ConnectionGuard` on every connection: one handler in
/// front of the HTTP parser, one right behind the conversion to HTTP types.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    let settings: ServerSettings

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let guardian = ConnectionGuard(settings: settings, logger: logger)
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard.BytesWatcher(guardian), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        // The guard lives on the connection's event loop, where the setup continues.
        let bound = NIOLoopBound(guardian, eventLoop: channel.eventLoop)
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let codec = try channel.pipeline.syncOperations.handler(type: HTTP1ToHTTPServerCodec.self)
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard.PartsWatcher(bound.value), position: .after(codec))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with per-phase deadlines (`ServerSettings`), and `Expect: 100-continue` answered.
    public static func guardedHTTP1(_ settings: ServerSettings) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GuardedHTTP1Channel(base: HTTP1Channel(responder: responder), settings: settings)
        }
    }
}

extension ApplicationConfiguration {
    /// Where the server listens, and at most `settings.maxConnections` connections at once.
    public static func eventManager(host: String, port: Int, settings: ServerSettings, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(host, port: port), serverName: "event-manager",
            availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections, logger: logger))
    }
}
