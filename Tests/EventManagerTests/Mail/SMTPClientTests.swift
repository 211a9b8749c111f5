import Foundation
import Logging
import Testing

@testable import EventManagerCore
@testable import EventManagerMail

/// The SMTP client against a real server (aiosmtpd), over real sockets.
@Suite(.resources, .enabled(if: SMTPPeer.available, "needs python3 with aiosmtpd (pip install aiosmtpd)"), .timeLimit(.minutes(2)))
struct SMTPClientTests {
    let messages = ReminderMessages(sender: "reminders@example.org", publicURL: "http://127.0.0.1:8000")
    let now = Timestamp(millisecondsSinceEpoch: 1_900_000_000_000)

    func transport(_ port: Int, _ configure: (inout SMTPConfiguration) -> Void = { _ in }) -> SMTPTransport {
        var configuration = SMTPConfiguration()
        configuration.port = port
        configuration.commandTimeout = .seconds(10)
        configure(&configuration)
        var logger = Logger(label: "smtp-test") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["SMTP_TRACE"] == nil ? .critical : .trace
        return SMTPTransport(configuration: configuration, logger: logger)
    }

    func mail(to email: String = "alice@example.com", title: String = "Swift Meetup") -> OutgoingMail {
        let claim = sampleClaim(title: title, email: email)
        return messages.compose(claim, now: claim.delivery.eventStartsAt.adding(milliseconds: -30 * 60_000))
    }

    @Test func deliversAMessageAnIndependentParserReads() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        try await transport(peer.port).withSession { session in
            try await session.send(mail(title: "Réunion ✓ à Paris"))
        }
        let received = try #require(try peer.messages().first)
        #expect(received.defects.isEmpty)
        #expect(received.mailFrom == "reminders@example.org")
        #expect(received.rcptTos == ["alice@example.com"])
        #expect(received.header("Subject") == "Reminder: Réunion ✓ à Paris starts in 30 minutes")
        #expect(received.header("Message-ID") == "<reminder.abc@example.org>")
        #expect(received.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click")
        let text = try #require(received.part("text/plain")?.content)
        #expect(text.contains("Where: Tel Aviv"))
        #expect(text.contains("Sunday 27 October 2030, 18:30 (Asia/Jerusalem)"))
        let html = try #require(received.part("text/html")?.content)
        #expect(html.contains("Réunion ✓ à Paris"))
        let calendar = try #require(received.part("text/calendar"))
        #expect(calendar.filename == "event.ics")
        #expect(calendar.content?.contains("DTSTART:20301027T163000Z") == true)
        #expect(calendar.content?.contains("SEQUENCE:3") == true)
    }

    /// A non-ASCII address travels as UTF-8 over SMTPUTF8 (RFC 6531/6532), never as an encoded-word.
    @Test func aNonASCIIAddressIsSentOverSMTPUTF8() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        try await transport(peer.port).withSession { try await $0.send(mail(to: "dörte@exämple.com")) }
        let received = try #require(try peer.messages().first)
        #expect(received.rcptTos == ["dörte@exämple.com"])
        #expect(received.header("To") == "dörte@exämple.com")
        #expect(received.defects.isEmpty)
    }

    @Test func escapesHTMLInTheHTMLPart() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        try await transport(peer.port).withSession { try await $0.send(mail(title: "<script>alert(1)</script>")) }
        let html = try #require(try peer.messages().first?.part("text/html")?.content)
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;"))
    }

    @Test func oneSessionSendsManyMessages() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        try await transport(peer.port).withSession { session in
            for index in 0..<5 { try await session.send(mail(to: "user\(index)@example.com")) }
        }
        #expect(try peer.messages().map(\.rcptTos) == (0..<5).map { ["user\($0)@example.com"] })
    }

    @Test func repliesAreClassified() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        try await transport(peer.port).withSession { session in
            await #expect {
                try await session.send(mail(to: "reject550@example.com"))
            } throws: { ($0 as? MailError)?.kind == .permanent }
            await #expect {
                try await session.send(mail(to: "temp451-1@example.com"))
            } throws: { ($0 as? MailError)?.kind == .transient }
            // The session survives a refused recipient (RSET) and the retry is accepted.
            try await session.send(mail(to: "temp451-1@example.com"))
        }
        #expect(try peer.messages().map(\.rcptTos) == [["temp451-1@example.com"]])
    }

    @Test func aServerThatIsDownIsATransientFailure() async throws {
        let peer = try await SMTPPeer.start()
        let port = peer.port
        await peer.stopAndWait()
        await #expect {
            try await transport(port).withSession { try await $0.send(mail()) }
        } throws: { ($0 as? MailError)?.kind == .transient }
    }

    @Test func startTLSWithAuthentication() async throws {
        let certificate = try await TestCertificate.make()
        let peer = try await SMTPPeer.start(arguments: [
            "--tls-cert", certificate.certificate, "--tls-key", certificate.key, "--require-starttls", "--auth", "bob:s3cret",
        ])
        defer { peer.stop() }
        let secure = transport(peer.port) {
            $0.host = "127.0.0.1"
            $0.tls = .starttls
            $0.caFile = certificate.certificate
            $0.username = "bob"
            $0.password = "s3cret"
        }
        try await secure.withSession { try await $0.send(mail()) }
        #expect(try peer.messages().count == 1)

        let wrongPassword = transport(peer.port) {
            $0.host = "127.0.0.1"
            $0.tls = .starttls
            $0.caFile = certificate.certificate
            $0.username = "bob"
            $0.password = "wrong"
            // aiosmtpd answers a failed AUTH slowly; either answer must be a failure.
            $0.commandTimeout = .seconds(2)
        }
        await #expect(throws: MailError.self) { try await wrongPassword.withSession { try await $0.send(mail()) } }
    }

    @Test func implicitTLS() async throws {
        let certificate = try await TestCertificate.make()
        let peer = try await SMTPPeer.start(arguments: [
            "--tls-cert", certificate.certificate, "--tls-key", certificate.key, "--implicit-tls",
        ])
        defer { peer.stop() }
        try await transport(peer.port) {
            $0.host = "127.0.0.1"
            $0.tls = .tls
            $0.caFile = certificate.certificate
        }.withSession { try await $0.send(mail()) }
        #expect(try peer.messages().count == 1)
    }

    @Test func untrustedCertificateIsRefused() async throws {
        let certificate = try await TestCertificate.make()
        let peer = try await SMTPPeer.start(arguments: [
            "--tls-cert", certificate.certificate, "--tls-key", certificate.key, "--require-starttls",
        ])
        defer { peer.stop() }
        await #expect(throws: MailError.self) {
            try await transport(peer.port) {
                $0.host = "127.0.0.1"
                $0.tls = .starttls
            }.withSession { try await $0.send(mail()) }
        }
        #expect(try peer.messages().isEmpty)
    }
}
