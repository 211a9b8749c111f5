import EventManagerCore
import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// Deadlines for each phase of a request on one connection, so a client that sends nothing, or
/// a request a byte at a time, cannot hold a connection (slowloris).
///
/// - idle: no request in progress; closed after `idleTimeout`.
/// - head: the first byte of a request has arrived; its line and headers must follow within `headerTimeout`.
/// - body: the headers have arrived; the body must follow within `bodyTimeout`.
/// - handling: the request is in; the server answers (its own time is not the client's fault).
///
/// Two handlers share it: one before the HTTP parser sees the first byte of a request, one after
/// it sees the head, the end of the body and the end of the answer. Both run on the connection's
/// event loop, and so does every use of this object.
///
/// One timer per connection, moved lazily: a phase only notes its deadline, and the timer, when
/// it fires, closes the connection if the deadline has passed or waits for it otherwise. It
/// always fires at or before the deadline of the current phase, so no deadline is missed, and a
/// keep-alive connection schedules about one timer per header timeout instead of three per
/// request (scheduling and cancelling them was 6 % of the CPU of `GET /health`).
final class ConnectionGuard {
    enum Phase { case idle, head, body, handling }

    private(set) var phase = Phase.idle
    /// When the current phase must end; nil while the server handles a request.
    private var deadline: NIODeadline?
    private var timer: Scheduled<Void>?
    /// When `timer` fires.
    private var timerFires = NIODeadline.distantFuture
    private let settings: ServerSettings
    private let logger: Logger

    init(settings: ServerSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    func enter(_ phase: Phase, channel: any Channel) {
        self.phase = phase
        let limit: Duration
        switch phase {
        case .idle: limit = settings.idleTimeout
        case .head: limit = settings.headerTimeout
        case .body: limit = settings.bodyTimeout
        case .handling:
            deadline = nil
            return
        }
        let deadline = NIODeadline.now() + .nanoseconds(limit.totalNanoseconds)
        self.deadline = deadline
        if timer == nil || timerFires > deadline { arm(at: deadline, channel: channel) }
    }

    private func arm(at time: NIODeadline, channel: any Channel) {
        timer?.cancel()
        timerFires = time
        timer = channel.eventLoop.assumeIsolated().scheduleTask(deadline: time) { [self] in fire(channel: channel) }
    }

    private func fire(channel: any Channel) {
        timer = nil
        guard let deadline else { return }  // handling; the next phase arms it again
        guard deadline <= .now() else { return arm(at: deadline, channel: channel) }
        logger.debug("closing a connection that missed its deadline", metadata: ["phase": .string("\(phase)")])
        channel.close(promise: nil)
    }

    func stop() {
        timer?.cancel()
        timer = nil
        deadline = nil
    }

    /// Sees the raw bytes: the first byte after an idle spell starts the header deadline.
    final class BytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        let guardian: ConnectionGuard

        init(_ guardian: ConnectionGuard) { self.guardian = guardian }

        func channelActive(context: ChannelHandlerContext) {
            guardian.enter(.idle, channel: context.channel)
            context.fireChannelActive()
        }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { guardian.enter(.idle, channel: context.channel) }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if guardian.phase == .idle { guardian.enter(.head, channel: context.channel) }
            context.fireChannelRead(data)
        }

        func channelInactive(context: ChannelHandlerContext) {
            guardian.stop()
            context.fireChannelInactive()
        }
    }

    /// Sees the parsed request and the answer: the head starts the body deadline, the end of the
    /// body stops the clock, and the end of the answer starts the idle one. It also answers
    /// `Expect: 100-continue` (RFC 9110 10.1.1) so such clients send their body at once.
    final class PartsWatcher: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart
        let guardian: ConnectionGuard

        init(_ guardian: ConnectionGuard) { self.guardian = guardian }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                guardian.enter(.body, channel: context.channel)
                if head.headerFields[.expect]?.lowercased() == "100-continue" {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
                }
            case .body:
                break
            case .end:
                guardian.enter(.handling, channel: context.channel)
            }
            context.fireChannelRead(data)
        }

        /// Set by an answer with `Connection: close`: the connection ends after it.
        private var closeAfterAnswer = false

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            switch unwrapOutboundIn(data) {
            case .head(let head):
                if head.status.kind != .informational, head.headerFields[.connection]?.lowercased() == "close" { closeAfterAnswer = true }
                context.write(data, promise: promise)
            case .end:
                guard closeAfterAnswer else {
                    // The idle deadline counts from the answer handed over, so a client that
                    // does not read its answer is closed by it too.
                    if guardian.phase == .handling { guardian.enter(.idle, channel: context.channel) }
                    return context.write(data, promise: promise)
                }
                // Hummingbird keeps a connection open whatever the answer says; an answer that
                // says close (a malformed request, CONNECT) must really end it.
                let channel = context.channel
                let written = promise ?? context.eventLoop.makePromise()
                written.futureResult.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
                context.write(data, promise: written)
            case .body:
                context.write(data, promise: promise)
            }
        }
    }
}
