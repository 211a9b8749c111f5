/// How the HTTP server protects itself (`app.*` timeouts and limits, `metrics.allowed_clients`).
///
/// A client that sends nothing, or sends a request a byte at a time, must not hold a connection
/// for good: each phase of a request has its own deadline, and connections are capped.
public struct ServerSettings: Sendable, Equatable {
    /// A request's line and headers must arrive within this of its first byte (`app.header_timeout_seconds`).
    public var headerTimeout: Duration = .seconds(10)
    /// A request's body must arrive within this of its headers (`app.body_timeout_seconds`).
    public var bodyTimeout: Duration = .seconds(30)
    /// A connection with no request in progress is closed after this (`app.idle_timeout_seconds`).
    public var idleTimeout: Duration = .seconds(60)
    /// Connections open at once; past it, new ones wait in the kernel's backlog (`app.max_connections`).
    public var maxConnections = 2048
    /// Who may read `/metrics`: addresses or IPv4 CIDR ranges of socket peers, or `*` for anyone.
    public var metricsAllowedClients = ["127.0.0.1", "::1"]

    public init() {}
}
