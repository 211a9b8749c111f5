import NIOCore

/// Ends messages one at a time across every connection of a transport, entirely on one event
/// loop: the data and final dot of the next message are written as soon as the previous one's
/// reply has been read and its acceptance noted, with no hop to a Swift task in between.
///
/// That is what bounds a crash to one duplicate (only one message is ever between the server's
/// 250 and the caller's record of it) without making every message wait for task wake-ups.
final class EndOfDataSequencer: Sendable {
    /// One message waiting for its turn to end.
    struct Turn {
        var channel: any Channel
        /// The message data, dot-stuffed, with its final dot: written when the turn comes, in one
        /// write (a message's data only matters to the server once it ends).
        var data: ByteBuffer
        var onAccepted: @Sendable () -> Void
        var promise: EventLoopPromise<SMTPReply>
        var timeout: TimeAmount
    }

    private struct State {
        var waiting: [Turn] = []
        var busy = false
    }

    let eventLoop: any EventLoop
    private let state: NIOLoopBoundBox<State>

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    /// Queues the end of the message begun on `channel`; the promise gets the server's reply.
    func submit(_ turn: Turn) {
        eventLoop.execute {
            self.state.value.waiting.append(turn)
            self.startNext()
        }
    }

    /// Called on the loop when the current turn's reply came (or its connection failed).
    func finished() {
        eventLoop.preconditionInEventLoop()
        state.value.busy = false
        startNext()
    }

    private func startNext() {
        while !state.value.busy, !state.value.waiting.isEmpty {
            let turn = state.value.waiting.removeFirst()
            guard let handler = try? turn.channel.pipeline.syncOperations.handler(type: EndOfDataHandler.self) else {
                turn.promise.fail(ChannelError.ioOnClosedChannel)
                continue
            }
            state.value.busy = true
            handler.end(turn, sequencer: self)
        }
    }
}

/// Sits after the line decoder: while a message's end is outstanding it reads the reply itself
/// (so the acceptance is noted on the event loop); every other line goes on to the session.
final class EndOfDataHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = String
    typealias InboundOut = String

    private struct Outstanding {
        var turn: EndOfDataSequencer.Turn
        var sequencer: EndOfDataSequencer
        var parser = SMTPReply.Parser()
        var timer: Scheduled<Void>?
    }

    private var outstanding: Outstanding?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes the data and its final dot, and waits for the reply under the turn's timeout.
    func end(_ turn: EndOfDataSequencer.Turn, sequencer: EndOfDataSequencer) {
        guard let context, context.channel.isActive else {
            turn.promise.fail(ChannelError.ioOnClosedChannel)
            sequencer.finished()
            return
        }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let timer = context.eventLoop.scheduleTask(in: turn.timeout) {
            bound.value.handler.fail(SMTPTimeout())
            bound.value.context.close(promise: nil)
        }
        outstanding = Outstanding(turn: turn, sequencer: sequencer, timer: timer)
        context.writeAndFlush(wrapOutboundOut(turn.data), promise: nil)
    }

    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var current = outstanding else {
            context.fireChannelRead(data)
            return
        }
        let line = unwrapInboundIn(data)
        do {
            guard let reply = try current.parser.add(line) else {
                outstanding = current
                return
            }
            outstanding = nil
            current.timer?.cancel()
            if reply.code == 250 { current.turn.onAccepted() }
            current.turn.promise.succeed(reply)
            current.sequencer.finished()
        } catch {
            fail(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.fireErrorCaught(error)
    }

    private func fail(_ error: any Error) {
        guard let current = outstanding else { return }
        outstanding = nil
        current.timer?.cancel()
        current.turn.promise.fail(error)
        current.sequencer.finished()
    }
}

/// The reply to the end of data did not come in time.
struct SMTPTimeout: Error {}
