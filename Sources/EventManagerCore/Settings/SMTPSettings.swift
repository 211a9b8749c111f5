/// How to reach the SMTP server (`smtp.*` configuration).
public struct SMTPConfiguration: Sendable {
    public enum TLSMode: String, Sendable {
        /// Plain text; only sensible on loopback or a trusted network.
        case none
        /// Upgrade with STARTTLS after the greeting (RFC 3207); refuses servers that cannot.
        case starttls
        /// TLS from the first byte (RFC 8314), usually port 465.
        case tls
    }

    public var host = "127.0.0.1"
    public var port = 2500
    public var tls = TLSMode.none
    public var username: String?
    public var password: String?
    /// The name given in EHLO/HELO.
    public var helo = "localhost"
    public var connectTimeout: Duration = .seconds(10)
    /// For each command's reply.
    public var commandTimeout: Duration = .seconds(30)
    /// For the reply to the end of the message data.
    public var dataTimeout: Duration = .seconds(120)
    /// PEM file of CA certificates to trust instead of the system's (`smtp.ca_file`).
    public var caFile: String?

    public init() {}
}
