import EventManagerCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// How webhook requests are made.
public struct WebhookClientSettings: Sendable, Equatable {
    /// Which addresses may be called (`webhooks.allow_private`).
    public var policy: WebhookAddressPolicy
    /// From the start of connecting to the end of the answer (`webhooks.timeout_seconds`).
    public var timeout: Duration
    /// Bytes of answer read before the connection is closed: only the status matters.
    public var maxResponseBytes: Int
    /// PEM file of the certificate authorities HTTPS endpoints are checked against
    /// (`webhooks.ca_file`); nil trusts the system's roots.
    public var caFile: String?

    public init(
        policy: WebhookAddressPolicy = WebhookAddressPolicy(), timeout: Duration = .seconds(10), maxResponseBytes: Int = 65_536,
        caFile: String? = nil
    ) {
        self.policy = policy
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.caFile = caFile
    }
}

/// Posts one webhook body to one URL over HTTP/1.1 on SwiftNIO, TLS by NIOSSL.
///
/// Made for calling URLs that strangers chose: the host is resolved first and the address is
/// checked against the policy before connecting (so DNS cannot point it inside), redirects are
/// not followed (a 3xx is a failed attempt), one deadline covers connecting, TLS, sending and
/// the answer, and at most `maxResponseBytes` of the answer are read. One connection per
/// attempt, closed after it: endpoints are many and mostly idle, so pooling would buy little.
public struct WebhookHTTPClient: Sendable {
    let settings: WebhookClientSettings
    let group: any EventLoopGroup
    let tls: Result<NIOSSLContext, any Error>

    public init(settings: WebhookClientSettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.settings = settings
        self.group = group
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
        self.tls = Result { try NIOSSLContext(configuration: configuration) }
    }

    /// Posts `body` with `headers`; never throws: every failure is an attempt's result.
    public func post(url: String, headers: [(name: String, value: String)], body: [UInt8]) async -> WebhookAttemptResult {
        let started = ContinuousClock.now
        func elapsed() -> Int64 {
            let duration = ContinuousClock.now - started
            return duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        }
        do {
            let status = try await send(url: url, headers: headers, body: body)
            return .answered(status: status, latencyMilliseconds: elapsed())
        } catch let error as WebhookClientError {
            return .failed(reason: error.description, latencyMilliseconds: elapsed())
        } catch {
            return .failed(reason: "request failed: \(error)", latencyMilliseconds: elapsed())
        }
    }

    private func send(url: String, headers: [(name: String, value: String)], body: [UInt8]) async throws -> Int {
        let target = try WebhookTarget(url)
        let address = try await resolve(target)
        let limit = TimeAmount.nanoseconds(
            settings.timeout.components.seconds * 1_000_000_000 + settings.timeout.components.attoseconds / 1_000_000_000)
        let deadline = NIODeadline.now() + limit
        let sslContext: NIOSSLContext? = target.isTLS ? try tls.get() : nil
        let maxBytes = settings.maxResponseBytes
        let answer = group.next().makePromise(of: Int.self)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(limit)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        let hostname = WebhookAddressPolicy.literal(target.host) == nil ? target.host : nil
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: sslContext, serverHostname: hostname))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseStatusHandler(answer: answer, maxBytes: maxBytes))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: address).get()
        } catch {
            answer.fail(error)
            throw WebhookClientError.connect(target.host, error)
        }
        let timeout = channel.eventLoop.scheduleTask(deadline: deadline) {
            answer.fail(WebhookClientError.timedOut(settings.timeout))
            channel.close(promise: nil)
        }
        defer {
            timeout.cancel()
            channel.close(promise: nil)
        }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.pathAndQuery)
        head.headers.add(name: "Host", value: target.hostHeader)
        head.headers.add(name: "User-Agent", value: "event-manager-webhooks/1")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.count))
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return try await answer.futureResult.get()
    }

    /// The address to connect to, checked against the policy.
    private func resolve(_ target: WebhookTarget) async throws -> SocketAddress {
        let policy = settings.policy
        if !policy.allowPrivate && WebhookAddressPolicy.isLocalName(target.host) { throw WebhookClientError.notAllowed(target.host) }
        let address: SocketAddress
        if let literal = WebhookAddressPolicy.literal(target.host) {
            address = try Self.socketAddress(literal, port: target.port)
        } else {
            // getaddrinfo blocks: on NIO's thread pool, not on an event loop or the Swift executor.
            address = try await NIOThreadPool.singleton.runIfActive {
                try SocketAddress.makeAddressResolvingHost(target.host, port: target.port)
            }
        }
        guard let bytes = Self.bytes(of: address), policy.permits(bytes) else { throw WebhookClientError.notAllowed(target.host) }
        return address
    }

    static func socketAddress(_ bytes: [UInt8], port: Int) throws -> SocketAddress {
        if bytes.count == 4 {
            return try SocketAddress(ipAddress: bytes.map(String.init).joined(separator: "."), port: port)
        }
        var storage = sockaddr_in6()
        storage.sin6_family = sa_family_t(AF_INET6)
        storage.sin6_port = in_port_t(UInt16(port).bigEndian)
        withUnsafeMutableBytes(of: &storage.sin6_addr) { $0.copyBytes(from: bytes) }
        return SocketAddress(storage, host: "")
    }

    static func bytes(of address: SocketAddress) -> [UInt8]? {
        switch address {
        case .v4(let v4):
            var raw = v4.address.sin_addr
            return withUnsafeBytes(of: &raw) { Array($0) }
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            return withUnsafeBytes(of: &raw) { Array($0) }
        default:
            return nil
        }
    }
}

/// A webhook URL taken apart for a request.
struct WebhookTarget {
    var isTLS: Bool
    var host: String
    var port: Int
    var pathAndQuery: String
    var hostHeader: String

    init(_ url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", var host = components.host, !host.isEmpty
        else { throw WebhookClientError.badURL }
        isTLS = scheme == "https"
        let defaultPort = isTLS ? 443 : 80
        port = components.port ?? defaultPort
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        pathAndQuery = components.percentEncodedQuery.map { path + "?" + $0 } ?? path
        let shownHost = host.contains(":") ? "[\(host)]" : host
        hostHeader = port == defaultPort ? shownHost : "\(shownHost):\(port)"
    }
}

/// Why an attempt got no answer, in words for the delivery log.
enum WebhookClientError: Error, CustomStringConvertible {
    case badURL
    case notAllowed(String)
    case connect(String, any Error)
    case timedOut(Duration)
    case closedEarly
    case protocolError(any Error)

    var description: String {
        switch self {
        case .badURL: "the URL cannot be called"
        case .notAllowed(let host): "refused: \(host) is a loopback, private or link-local address (webhooks.allow_private is off)"
        case .connect(let host, let error): "could not connect to \(host): \(error)"
        case .timedOut(let limit): "timed out after \(limit.components.seconds) s"
        case .closedEarly: "the connection closed before an answer"
        case .protocolError(let error): "bad answer: \(error)"
        }
    }
}

/// Reads the answer's status and up to `maxBytes` of its body, then completes `answer`.
final class ResponseStatusHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    let answer: EventLoopPromise<Int>
    let maxBytes: Int
    var status: Int?
    var received = 0

    init(answer: EventLoopPromise<Int>, maxBytes: Int) {
        self.answer = answer
        self.maxBytes = maxBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // 1xx answers come before the real one.
            if head.status.code >= 200 { status = Int(head.status.code) }
        case .body(let buffer):
            received += buffer.readableBytes
            if received > maxBytes, let status {
                answer.succeed(status)
                context.close(promise: nil)
            }
        case .end:
            if let status { answer.succeed(status) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(WebhookClientError.closedEarly)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(WebhookClientError.protocolError(error))
        context.close(promise: nil)
    }
}
