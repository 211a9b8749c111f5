import EventManagerCore
import EventManagerMetrics
import Hummingbird
import Synchronization

/// One dependency `/ready` asks about: the database on every node, the mail server on workers.
public struct ReadinessCheck: Sendable {
    public let name: String
    let errorCode: String
    let failure: String
    let probe: @Sendable () async throws -> Void

    public init(name: String, errorCode: String, failure: String, probe: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.errorCode = errorCode
        self.failure = failure
        self.probe = probe
    }

    /// Remembers an answer for `seconds`, so frequent probes by load balancers cost the
    /// dependency one connection per interval, not one per probe.
    public func cached(seconds: Int64, clock: any WallClock) -> ReadinessCheck {
        let last = Mutex<(at: Timestamp, error: String?)?>(nil)
        let probe = self.probe
        return ReadinessCheck(name: name, errorCode: errorCode, failure: failure) {
            let now = clock.now()
            if let previous = last.withLock({ $0 }), previous.at.adding(milliseconds: seconds * 1000) > now {
                if let error = previous.error { throw ReadinessFailure(message: error) }
                return
            }
            do {
                try await probe()
                last.withLock { $0 = (now, nil) }
            } catch {
                last.withLock { $0 = (now, String(describing: error)) }
                throw error
            }
        }
    }
}

struct ReadinessFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Liveness, readiness and metrics: the routes every role serves, for load balancers,
/// orchestrators and Prometheus.
struct HealthController: Sendable {
    let checks: [ReadinessCheck]
    let metrics: AppMetrics?
    /// Who may read `/metrics` (`metrics.allowed_clients`).
    var metricsClients: AddressMatcher

    func addRoutes(to routes: RouteTable) {
        routes.add(.get, "/health") { _, _ in Self.ok }
        routes.add(.get, "/ready") { _, context in
            for check in checks {
                do {
                    try await check.probe()
                } catch {
                    context.logger.warning(
                        "readiness check failed", metadata: ["check": .string(check.name), "error": .string(String(describing: error))])
                    throw AppError(.unavailable, code: check.errorCode, message: check.failure)
                }
            }
            return Response.json { writer in
                writer.raw("{\"status\":\"ready\"")
                for check in checks {
                    writer.raw(",")
                    writer.string(check.name)
                    writer.raw(":\"ok\"")
                }
                writer.raw("}")
            }
        }
        if let metrics {
            routes.add(.get, "/metrics") { _, context in
                guard metricsClients.allows(context.peerAddress) else {
                    throw AppError(
                        .forbidden, code: "metrics_not_allowed",
                        message: "metrics are served to the addresses in metrics.allowed_clients only")
                }
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: await metrics.render()))
                )
            }
        }
    }

    static var ok: Response { Response.json { $0.raw("{\"status\":\"ok\"}") } }
}
