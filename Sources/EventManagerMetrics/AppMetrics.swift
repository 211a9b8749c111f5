import CoreMetrics
import Prometheus
import Synchronization

/// The service's metrics: swift-metrics handles on a Prometheus registry owned by one application.
///
/// A registry per application (not the process-wide `MetricsSystem`) keeps tests independent and
/// lets one process host several applications. Handles are cached per label set, because looking
/// them up in the registry takes a lock and builds strings.
public final class AppMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    private let requests = Mutex<[RequestKey: (CoreMetrics.Counter, CoreMetrics.Timer)]>([:])
    private let deliveries = Mutex<[String: CoreMetrics.Counter]>([:])
    let lateness: CoreMetrics.Recorder
    let connectionFailures: CoreMetrics.Counter
    let backoff: CoreMetrics.Gauge
    /// Sampled at each scrape: queue depth by state and pool usage.
    private let samplers = Mutex<[@Sendable () async -> Void]>([])

    struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["http_request_duration_seconds"] = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.valueHistogramBuckets["reminder_lateness_seconds"] = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600]
        self.factory = factory
        lateness = CoreMetrics.Recorder(label: "reminder_lateness_seconds", dimensions: [], aggregate: true, factory: factory)
        connectionFailures = CoreMetrics.Counter(label: "smtp_connection_failures_total", dimensions: [], factory: factory)
        backoff = CoreMetrics.Gauge(label: "smtp_backoff_seconds", dimensions: [], factory: factory)
        backoff.record(0)
    }

    /// One answered request. `route` is the matched pattern (`/events/{id}`), never the raw path,
    /// so the number of series stays bounded.
    package func recordRequest(route: String, method: String, status: Int, nanoseconds: Int64) {
        let key = RequestKey(route: route, method: method, status: status)
        let (counter, timer) = requests.withLock { cache in
            if let handles = cache[key] { return handles }
            let handles = (
                CoreMetrics.Counter(
                    label: "http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))],
                    factory: factory),
                CoreMetrics.Timer(
                    label: "http_request_duration_seconds", dimensions: [("route", route), ("method", method)], factory: factory)
            )
            cache[key] = handles
            return handles
        }
        counter.increment()
        timer.recordNanoseconds(nanoseconds)
    }

    /// What the worker did with one email: `sent`, `retried`, `failed`, `skipped` or `cancelled`.
    package func recordDelivery(kind: String, outcome: String) {
        let key = kind + "|" + outcome
        let counter = deliveries.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = CoreMetrics.Counter(
                label: "deliveries_total", dimensions: [("kind", kind), ("outcome", outcome)], factory: factory)
            cache[key] = counter
            return counter
        }
        counter.increment()
    }

    /// What became of one webhook attempt: `delivered`, `retry` or `failed`.
    package func recordWebhookAttempt(outcome: String) {
        let key = "webhook|" + outcome
        let counter = deliveries.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = CoreMetrics.Counter(label: "webhook_attempts_total", dimensions: [("outcome", outcome)], factory: factory)
            cache[key] = counter
            return counter
        }
        counter.increment()
    }

    /// How late a reminder was handed to SMTP: sent minus due, in seconds.
    package func recordLateness(milliseconds: Int64) {
        lateness.record(Double(max(0, milliseconds)) / 1000)
    }

    /// The mail server could not be reached (or dropped the connection).
    package func recordConnectionFailure() {
        connectionFailures.increment()
    }

    /// How long the worker waits before trying the mail server again; 0 when it is up.
    package func setBackoff(milliseconds: Int64) {
        backoff.record(Double(max(0, milliseconds)) / 1000)
    }

    /// Adds gauges that are read when `/metrics` is scraped rather than kept up to date.
    package func addSampler(_ sampler: @escaping @Sendable () async -> Void) {
        samplers.withLock { $0.append(sampler) }
    }

    /// Samples the gauges, then renders every metric in the Prometheus text format.
    public func render() async -> [UInt8] {
        for sampler in samplers.withLock({ $0 }) { await sampler() }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16_384)
        registry.emit(into: &buffer)
        return buffer
    }

    package func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory)
    }
}
