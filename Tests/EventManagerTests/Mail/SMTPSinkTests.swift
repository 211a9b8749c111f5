import Foundation
import Logging
import Testing

@testable import EventManagerCore
@testable import EventManagerMail

/// The SMTP client against Postfix's smtp-sink: PIPELINING and the HELO fallback.
@Suite(.resources, .enabled(if: SMTPSink.available, "needs smtp-sink (apt-get install postfix)"), .timeLimit(.minutes(2)))
struct SMTPSinkTests {
    func transport(_ port: Int) -> SMTPTransport {
        var configuration = SMTPConfiguration()
        configuration.port = port
        configuration.commandTimeout = .seconds(10)
        return SMTPTransport(configuration: configuration, logger: Logger(label: "sink-test"))
    }

    func mail(to email: String) -> OutgoingMail {
        let claim = sampleClaim(email: email)
        return ReminderMessages(sender: "reminders@example.org", publicURL: "http://127.0.0.1:8000")
            .compose(claim, now: claim.delivery.eventStartsAt.adding(milliseconds: -30 * 60_000))
    }

    @Test func pipelinesCommandsAndReusesTheConnection() async throws {
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        try await transport(sink.port).withSession { session in
            for index in 0..<3 { try await session.send(mail(to: "user\(index)@example.com")) }
        }
        let dumps = try sink.dumps()
        #expect(dumps.count == 3)
        #expect(dumps.allSatisfy { $0.contains("Subject: Reminder: Swift Meetup starts in 30 minutes") })
    }

    @Test func fallsBackToHELOWhenEHLOIsRefused() async throws {
        let sink = try await SMTPSink.start(options: ["-e"])
        defer { sink.stop() }
        try await transport(sink.port).withSession { try await $0.send(mail(to: "alice@example.com")) }
        #expect(try sink.dumps().count == 1)
    }

    @Test func aRefusedRecipientInAPipelineIsPermanent() async throws {
        let sink = try await SMTPSink.start(options: ["-f", "RCPT"])
        defer { sink.stop() }
        _ = try await transport(sink.port).withSession { session in
            await #expect {
                try await session.send(mail(to: "alice@example.com"))
            } throws: { ($0 as? MailError)?.kind == .permanent }
        }
        #expect(try sink.dumps().isEmpty)
    }
}
