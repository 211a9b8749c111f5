import EventManagerCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// An SMTP client on SwiftNIO: one connection per session, many messages per connection.
///
/// EHLO with HELO fallback, multi-line replies, PIPELINING, SIZE and SMTPUTF8 when advertised,
/// STARTTLS or implicit TLS through NIOSSL, AUTH PLAIN/LOGIN only over TLS, RSET between
/// messages, QUIT at the end, and a timeout on every step.
public struct SMTPTransport: MailTransport {
    let configuration: SMTPConfiguration
    /// Every connection of this transport lives on this loop, where their messages are ended
    /// one at a time (`EndOfDataSequencer`).
    let eventLoop: any EventLoop
    let sequencer: EndOfDataSequencer
    let logger: Logger

    public init(
        configuration: SMTPConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoopGroup.next()
        self.sequencer = EndOfDataSequencer(eventLoop: eventLoop)
        self.logger = logger
    }

    public func withSession<Result>(_ body: (any MailSession) async throws -> Result) async throws -> Result {
        let configuration = self.configuration
        let tlsContext = try makeTLSContext()
        let channel: NIOAsyncChannel<String, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(.nanoseconds(configuration.connectTimeout.totalNanoseconds))
                .connect(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if configuration.tls == .tls, let tlsContext {
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tlsContext, serverHostname: Self.sniName(configuration.host))
                            )
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPLineDecoder()))
                        try channel.pipeline.syncOperations.addHandler(EndOfDataHandler())
                        return try NIOAsyncChannel<String, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MailError(
                .transient, "cannot connect to \(configuration.host):\(configuration.port): \(error)", serverUnavailable: true)
        }
        return try await channel.executeThenClose { inbound, outbound in
            let connection = SMTPConnection(
                channel: channel.channel, lines: inbound.makeAsyncIterator(), configuration: configuration, tlsContext: tlsContext,
                sequencer: sequencer, logger: logger
            )
            try await connection.open()
            let result: Result
            do {
                result = try await body(connection)
            } catch {
                await connection.quit()
                throw error
            }
            await connection.quit()
            return result
        }
    }

    func makeTLSContext() throws -> NIOSSLContext? {
        guard configuration.tls != .none else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.caFile {
            tls.trustRoots = .file(caFile)
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw MailError(.transient, "cannot set up TLS: \(error)")
        }
    }

    /// SNI must be a host name, not an address literal.
    static func sniName(_ host: String) -> String? {
        host.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) ? nil : host
    }
}

/// One server reply: its code and text lines.
struct SMTPReply: CustomStringConvertible {
    var code: Int
    var lines: [String]

    var description: String { "\(code) \(lines.joined(separator: " / "))" }

    /// Assembles a reply from its lines (RFC 5321 4.2): `250-first`, ..., `250 last`; every line
    /// carries the same three-digit code, and a space after it ends the reply.
    struct Parser {
        struct Malformed: Error {}

        private var code: Int?
        private var lines: [String] = []

        /// Adds one line (without CRLF); returns the reply once this line ends it.
        mutating func add(_ line: String) throws(Malformed) -> SMTPReply? {
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, bytes[0..<3].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), bytes[0] >= 0x32, bytes[0] <= 0x35 else {
                throw Malformed()
            }
            let lineCode = Int(String(decoding: bytes[0..<3], as: UTF8.self))!
            guard code == nil || code == lineCode, bytes.count == 3 || bytes[3] == 0x20 || bytes[3] == 0x2D else { throw Malformed() }
            code = lineCode
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            if bytes.count == 3 || bytes[3] == 0x20 { return SMTPReply(code: lineCode, lines: lines) }
            guard lines.count < 100 else { throw Malformed() }
            return nil
        }
    }

    /// The error a failed reply means: 4xx may succeed later, 5xx will not.
    func error(during step: String) -> MailError {
        MailError(code >= 500 ? .permanent : .transient, "\(step) failed: \(description)")
    }
}

/// The client side of one SMTP connection. Lives inside one task; not shared.
final class SMTPConnection: MailSession {
    private let channel: any Channel
    private var lines: NIOAsyncChannelInboundStream<String>.AsyncIterator
    private let sequencer: EndOfDataSequencer
    private let configuration: SMTPConfiguration
    private let tlsContext: NIOSSLContext?
    private let logger: Logger
    private var extensions: [String: String] = [:]
    private var secure: Bool
    /// The last transaction failed part-way, so the next one starts with RSET.
    private var needsReset = false
    private var broken = false
    /// The message `begin` left open for `end`: its data, written by `end`.
    private var open = false
    private var data: ByteBuffer?

    init(
        channel: any Channel, lines: NIOAsyncChannelInboundStream<String>.AsyncIterator, configuration: SMTPConfiguration,
        tlsContext: NIOSSLContext?, sequencer: EndOfDataSequencer, logger: Logger
    ) {
        self.channel = channel
        self.lines = lines
        self.sequencer = sequencer
        self.configuration = configuration
        self.tlsContext = tlsContext
        self.logger = logger
        self.secure = configuration.tls == .tls
    }

    /// Greeting, EHLO, STARTTLS and AUTH as configured.
    func open() async throws {
        let greeting = try await readReply(step: "greeting")
        guard greeting.code == 220 else { throw MailError(.transient, "server greeting: \(greeting)", serverUnavailable: true) }
        try await hello()
        if configuration.tls == .starttls {
            guard extensions["STARTTLS"] != nil else {
                throw MailError(.transient, "the server does not offer STARTTLS and smtp.tls is starttls")
            }
            let reply = try await command("STARTTLS", step: "STARTTLS")
            guard reply.code == 220 else { throw MailError(.transient, "STARTTLS refused: \(reply)") }
            guard let tlsContext else { throw MailError(.transient, "no TLS context") }
            let serverName = SMTPTransport.sniName(configuration.host)
            let channel = self.channel
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(
                    try NIOSSLClientHandler(context: tlsContext, serverHostname: serverName), position: .first
                )
            }.get()
            secure = true
            try await hello()
        }
        if let username = configuration.username {
            try await authenticate(username: username, password: configuration.password ?? "")
        }
    }

    private func hello() async throws {
        var reply = try await command("EHLO \(configuration.helo)", step: "EHLO")
        if reply.code >= 500 {
            reply = try await command("HELO \(configuration.helo)", step: "HELO")
            extensions = [:]
            guard reply.code == 250 else { throw MailError(.transient, "HELO refused: \(reply)") }
            return
        }
        guard reply.code == 250 else { throw MailError(.transient, "EHLO refused: \(reply)") }
        extensions = [:]
        for line in reply.lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let keyword = parts.first else { continue }
            extensions[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
        }
    }

    private func authenticate(username: String, password: String) async throws {
        guard secure else { throw MailError(.transient, "refusing to send credentials without TLS (set smtp.tls)") }
        let mechanisms = Set((extensions["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
        if mechanisms.contains("PLAIN") {
            let token = Data("\0\(username)\0\(password)".utf8).base64EncodedString()
            let reply = try await command("AUTH PLAIN \(token)", step: "AUTH PLAIN", log: "AUTH PLAIN ***")
            guard reply.code == 235 else { throw MailError(.transient, "authentication failed: \(reply)") }
        } else if mechanisms.contains("LOGIN") {
            var reply = try await command("AUTH LOGIN", step: "AUTH LOGIN")
            guard reply.code == 334 else { throw MailError(.transient, "AUTH LOGIN refused: \(reply)") }
            reply = try await command(Data(username.utf8).base64EncodedString(), step: "AUTH LOGIN", log: "***")
            guard reply.code == 334 else { throw MailError(.transient, "AUTH LOGIN refused: \(reply)") }
            reply = try await command(Data(password.utf8).base64EncodedString(), step: "AUTH LOGIN", log: "***")
            guard reply.code == 235 else { throw MailError(.transient, "authentication failed: \(reply)") }
        } else {
            throw MailError(.transient, "the server offers no AUTH mechanism we support (PLAIN, LOGIN)")
        }
    }

    var isUsable: Bool { !broken }

    func begin(_ mail: OutgoingMail) async throws {
        guard !broken else { throw MailError(.transient, "the connection was lost", serverUnavailable: true) }
        guard !open else {
            // Still inside the data of an unfinished message: nothing but its end can follow.
            broken = true
            throw MailError(.transient, "a message was begun and never ended")
        }
        let reset = needsReset
        needsReset = true
        do {
            try await envelopeAndData(mail, reset: reset)
            open = true
        } catch let error as MailError {
            throw error
        } catch {
            broken = true
            throw MailError(.transient, "connection failed: \(error)", serverUnavailable: true)
        }
    }

    func end(onAccepted: @escaping @Sendable () -> Void) async throws {
        guard open, let data = data.take() else { throw MailError(.transient, "no message was begun") }
        open = false
        let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
        sequencer.submit(
            .init(
                channel: channel, data: data, onAccepted: onAccepted, promise: promise,
                timeout: .nanoseconds(configuration.dataTimeout.totalNanoseconds)))
        let final: SMTPReply
        do {
            final = try await promise.futureResult.get()
        } catch {
            broken = true
            let what = error is SMTPTimeout ? "timed out after \(configuration.dataTimeout) waiting for" : "connection failed during"
            throw MailError(.transient, "\(what) the reply to the end of data: \(error)", serverUnavailable: true)
        }
        if final.code == 421 { broken = true }
        guard final.code == 250 else { throw final.error(during: "message data") }
        needsReset = false
    }

    /// MAIL, RCPT and DATA (pipelined when offered: one round trip), then the message data
    /// without its final dot. No RSET after a transaction that ended well: it is needed only
    /// after one that failed part-way (RFC 5321 4.1.1.5), and it would cost a round trip.
    private func envelopeAndData(_ mail: OutgoingMail, reset: Bool) async throws {
        if reset {
            let reply = try await command("RSET", step: "RSET")
            guard reply.code == 250 else {
                broken = true
                throw reply.error(during: "RSET")
            }
        }
        let smtputf8 = mail.needsSMTPUTF8
        if smtputf8 && extensions["SMTPUTF8"] == nil {
            throw MailError(.permanent, "the address needs SMTPUTF8, which the server does not offer")
        }
        var mailFrom = "MAIL FROM:<\(mail.from)>"
        if let limit = extensions["SIZE"].flatMap({ Int($0) }) {
            if limit > 0 && mail.data.count > limit {
                throw MailError(.permanent, "message of \(mail.data.count) bytes exceeds the server's SIZE limit of \(limit)")
            }
            mailFrom += " SIZE=\(mail.data.count)"
        }
        if smtputf8 { mailFrom += " SMTPUTF8" }
        let rcptTo = "RCPT TO:<\(mail.to)>"
        let mailReply: SMTPReply
        let rcptReply: SMTPReply
        let dataReply: SMTPReply
        if extensions["PIPELINING"] != nil {
            try await write("\(mailFrom)\r\n\(rcptTo)\r\nDATA\r\n")
            mailReply = try await readReply(step: "MAIL FROM")
            rcptReply = try await readReply(step: "RCPT TO")
            dataReply = try await readReply(step: "DATA")
        } else {
            mailReply = try await command(mailFrom, step: "MAIL FROM")
            guard mailReply.code == 250 else { throw mailReply.error(during: "MAIL FROM") }
            rcptReply = try await command(rcptTo, step: "RCPT TO")
            guard rcptReply.code == 250 || rcptReply.code == 251 else { throw rcptReply.error(during: "RCPT TO") }
            dataReply = try await command("DATA", step: "DATA")
        }
        let firstFailure: (String, SMTPReply)? =
            mailReply.code != 250
            ? ("MAIL FROM", mailReply) : !(rcptReply.code == 250 || rcptReply.code == 251) ? ("RCPT TO", rcptReply) : nil
        if dataReply.code == 354 {
            if let firstFailure {
                // A server that accepted DATA without a recipient gets an empty message ended at once.
                try await write(".\r\n")
                _ = try await readReply(step: "end of data", timeout: configuration.dataTimeout)
                throw firstFailure.1.error(during: firstFailure.0)
            }
        } else {
            if let firstFailure { throw firstFailure.1.error(during: firstFailure.0) }
            throw dataReply.error(during: "DATA")
        }
        var buffer = channel.allocator.buffer(capacity: mail.data.count + 64)
        Self.dotStuff(mail.data, into: &buffer)
        data = buffer
    }

    /// Writes `data` with a leading dot doubled on every line, ending in CRLF.CRLF (RFC 5321 4.5.2).
    static func dotStuff(_ data: [UInt8], into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: data.count + 64)
        // Copies whole runs between the lines that start with a dot, which are rare.
        var runStart = 0
        var index = 0
        while index < data.count {
            if data[index] == UInt8(ascii: "."), index == 0 || (index >= 2 && data[index - 2] == 13 && data[index - 1] == 10) {
                buffer.writeBytes(data[runStart..<index])
                buffer.writeInteger(UInt8(ascii: "."))
                runStart = index
            }
            index += 1
        }
        buffer.writeBytes(data[runStart..<data.count])
        if !(data.count >= 2 && data[data.count - 2] == 13 && data[data.count - 1] == 10) { buffer.writeString("\r\n") }
        buffer.writeString(".\r\n")
    }

    /// Says goodbye; failures here do not matter, the connection closes either way.
    func quit() async {
        guard !broken else { return }
        _ = try? await command("QUIT", step: "QUIT", timeout: .seconds(5))
    }

    private func command(_ line: String, step: String, log: String? = nil, timeout: Duration? = nil) async throws -> SMTPReply {
        logger.trace("smtp >", metadata: ["line": .string(log ?? line)])
        try await write(line + "\r\n")
        return try await readReply(step: step, timeout: timeout)
    }

    private func write(_ text: String) async throws {
        send(channel.allocator.buffer(string: text))
    }

    /// Queues bytes on the connection's event loop without waiting for the write: writes from
    /// this task, and the final dot the sequencer writes later, reach the loop in the order they
    /// are made. A failed write closes the connection, which the next read reports.
    private func send(_ buffer: ByteBuffer) {
        let channel = self.channel
        channel.writeAndFlush(buffer).whenFailure { _ in channel.close(promise: nil) }
    }

    /// Reads one reply, following continuation lines (`250-...`), under a deadline that closes
    /// the connection when it passes.
    private func readReply(step: String, timeout: Duration? = nil) async throws -> SMTPReply {
        let limit = timeout ?? configuration.commandTimeout
        let timedOut = Atomic<Bool>(false)
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(
            in: .nanoseconds(limit.totalNanoseconds)
        ) {
            timedOut.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        var parser = SMTPReply.Parser()
        let reply: SMTPReply
        do {
            while true {
                guard let line = try await lines.next() else {
                    broken = true
                    if timedOut.load(ordering: .relaxed) {
                        throw MailError(
                            .transient, "timed out after \(limit) waiting for the reply to \(step)", serverUnavailable: true)
                    }
                    throw MailError(.transient, "the server closed the connection during \(step)", serverUnavailable: true)
                }
                logger.trace("smtp <", metadata: ["line": .string(line)])
                do {
                    if let complete = try parser.add(line) {
                        reply = complete
                        break
                    }
                } catch {
                    broken = true
                    throw MailError(.transient, "malformed reply during \(step): \(line.prefix(100))")
                }
            }
        } catch let error as MailError {
            throw error
        } catch {
            broken = true
            if timedOut.load(ordering: .relaxed) {
                throw MailError(.transient, "timed out after \(limit) waiting for the reply to \(step)", serverUnavailable: true)
            }
            throw MailError(.transient, "connection failed during \(step): \(error)", serverUnavailable: true)
        }
        if reply.code == 421 { broken = true }
        return reply
    }
}

/// Splits the byte stream into lines at CRLF (or a bare LF), refusing absurdly long ones.
struct SMTPLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String
    static let maxLineLength = 8192

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLineLength { throw MailError(.transient, "reply line too long") }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        var line = buffer.readString(length: length) ?? ""
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
