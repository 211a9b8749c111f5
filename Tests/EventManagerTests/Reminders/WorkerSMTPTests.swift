import Foundation
import Logging
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerMail
@testable import EventManagerStorage

/// The worker with the real SMTP client against aiosmtpd: outages and refusals end to end.
@Suite(.resources, .enabled(if: SMTPPeer.available, "needs python3 with aiosmtpd (pip install aiosmtpd)"), .timeLimit(.minutes(2)))
struct WorkerSMTPTests {
    func worker(_ harness: ReminderHarness, port: Int, timeout: Duration = .seconds(10)) -> ReminderWorker {
        var configuration = SMTPConfiguration()
        configuration.port = port
        configuration.commandTimeout = timeout
        configuration.connectTimeout = timeout
        var logger = Logger(label: "worker-smtp")
        logger.logLevel = .critical
        return ReminderWorker(
            queue: harness.queue, transport: SMTPTransport(configuration: configuration, logger: logger),
            messages: ReminderMessages(sender: "reminders@test.example", publicURL: "http://127.0.0.1:8000"), clock: harness.clock,
            settings: WorkerSettings(), owner: "worker-smtp", logger: logger, jitter: { 0 }
        )
    }

    @Test(arguments: Backend.all) func aServerThatIsDownThenUpGetsTheReminderOnRetry(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let first = try await SMTPPeer.start()
        let port = first.port
        await first.stopAndWait()
        let event = try await harness.event(startingIn: 60)
        try await harness.subscribe(event, minutes: 60)
        let worker = worker(harness, port: port)
        #expect(try await worker.processDueBatch() == 1)
        #expect(try await harness.states() == ["scheduled": 1])

        let peer = try await SMTPPeer.start(port: port)
        harness.clock.advance(milliseconds: 15_000)
        #expect(try await worker.processDueBatch() == 1)
        #expect(try peer.messages().map(\.rcptTos) == [["alice@example.com"]])
        #expect(try await harness.states() == ["sent": 1])
        peer.stop()
    }

    @Test(arguments: Backend.all) func temporaryRefusalsAreRetriedAndPermanentOnesFail(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let peer = try await SMTPPeer.start()
        let event = try await harness.event(startingIn: 60)
        for address in ["temp451-1@example.com", "close421-1@example.com", "reject550@example.com", "fine@example.com"] {
            try await harness.subscribe(event, address, minutes: 60)
        }
        let worker = worker(harness, port: peer.port)
        #expect(try await worker.processDueBatch() == 4)
        // A 421 closes the connection, so the rest of the first batch is retried as well.
        harness.clock.advance(milliseconds: 15_000)
        #expect(try await worker.processDueBatch() >= 2)
        let delivered = Set(try peer.messages().flatMap(\.rcptTos))
        #expect(delivered == ["temp451-1@example.com", "close421-1@example.com", "fine@example.com"])
        #expect(try await harness.states() == ["sent": 3, "failed": 1])
        peer.stop()
    }

    /// A server that accepts the connection and then says nothing: the session times out, the
    /// reminder is kept for a retry with the reason, and the worker goes on to deliver it once a
    /// working server is there.
    @Test(arguments: Backend.all) func aSilentServerTimesOutAndTheWorkerGoesOn(backend: Backend) async throws {
        let harness = try await ReminderHarness.make(backend: backend)
        let silent = try await SilentServer.start()
        let event = try await harness.event(startingIn: 60)
        try await harness.subscribe(event, minutes: 60)
        // Long enough that connecting on a busy CI machine never runs out of it: the reply is what must time out.
        #expect(try await worker(harness, port: silent.port, timeout: .seconds(2)).processDueBatch() == 1)
        #expect(try await harness.states() == ["scheduled": 1])
        let reason = try await harness.store.sqlRaw("SELECT last_error FROM deliveries").first()?.decode(
            column: "last_error", as: String.self)
        #expect(reason?.contains("timed out") == true, "\(reason ?? "nil")")
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        harness.clock.advance(milliseconds: 15_000)
        #expect(try await worker(harness, port: peer.port).processDueBatch() == 1)
        #expect(try await harness.states() == ["sent": 1])
        try await silent.stop()
    }
}
