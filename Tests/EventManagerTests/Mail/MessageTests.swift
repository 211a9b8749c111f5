import Foundation
import NIOCore
import Testing

@testable import EventManagerCore
@testable import EventManagerMail

/// A reminder for event 7 as a worker would have claimed it.
func sampleClaim(
    title: String = "Swift Meetup", location: String = "Tel Aviv", start: String = "2030-10-27T16:30:00Z", kind: DeliveryKind = .reminder,
    email: String = "alice@example.com", notice: NoticeSnapshot? = nil
) -> ClaimedDelivery {
    guard case .instant(let startsAt)? = DateInput.parse(start) else { fatalError() }
    let event = Event(
        id: 7, title: title, location: location, startsAt: startsAt, timeZone: EventTimeZone(identifier: "Asia/Jerusalem")!,
        isDateOnly: false,
        popularity: 0, createdAt: .minimum, updatedAt: .minimum
    )
    let delivery = Delivery(
        id: 1, kind: kind, subscriptionID: 3, eventID: 7, email: email, eventStartsAt: startsAt,
        dueAt: startsAt.adding(milliseconds: -1_800_000),
        state: .sending, attempts: 1, nextAttemptAt: startsAt, messageID: "<reminder.abc@example.org>", notice: notice
    )
    return ClaimedDelivery(
        delivery: delivery, event: kind == .cancellation ? nil : event, eventRevision: 3, subscriptionActive: true,
        unsubscribeToken: "tok_123"
    )
}

@Suite(.resources) struct MessageTests {
    let messages = ReminderMessages(sender: "reminders@example.org", publicURL: "https://events.example.org/")

    func text(_ mail: OutgoingMail) -> String { String(decoding: mail.data, as: UTF8.self) }

    @Test func reminderHeadersAndSubjectUseTheRealOffset() {
        let claim = sampleClaim()
        let mail = messages.compose(claim, now: claim.delivery.eventStartsAt.adding(milliseconds: -90 * 60_000))
        let body = text(mail)
        #expect(body.contains("Subject: Reminder: Swift Meetup starts in 1 hour 30 minutes\r\n"))
        #expect(body.contains("Message-ID: <reminder.abc@example.org>\r\n"))
        #expect(body.contains("Auto-Submitted: auto-generated\r\n"))
        #expect(body.contains("List-Unsubscribe: <https://events.example.org/unsubscribe?token=tok_123>\r\n"))
        #expect(body.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"))
        #expect(mail.data.allSatisfy { $0 < 0x80 }, "the message must be 7-bit clean")
        let withoutCRLF = body.replacingOccurrences(of: "\r\n", with: "")
        #expect(!withoutCRLF.contains("\n") && !withoutCRLF.contains("\r"), "only CRLF line ends")
    }

    @Test func nonASCIISubjectIsEncodedAndNothingReachesAHeaderUnescaped() {
        let encoded = MIMEMessage.headerValue("Réunion à Paris ✓")
        #expect(encoded.hasPrefix("=?UTF-8?B?"))
        #expect(MIMEMessage.headerValue("line\r\nBcc: victim@example.com") == "line  Bcc: victim@example.com")
        let long = MIMEMessage.headerValue(String(repeating: "é", count: 100))
        #expect(long.split(separator: "\r\n").allSatisfy { $0.count <= 76 })
    }

    @Test func calendarFoldsEscapesAndCarriesUidAndSequence() {
        let invite = CalendarDocument(entries: [
            CalendarEntry(
                uid: "event-7@example.org", sequence: 4, stamp: Timestamp(millisecondsSinceEpoch: 0),
                lastModified: Timestamp(millisecondsSinceEpoch: 0), start: Timestamp(millisecondsSinceEpoch: 1_000),
                summary: "A, B; C\\D\nE " + String(repeating: "ü", count: 60), location: "Hall 1")
        ])
        let text = String(decoding: invite.render(), as: UTF8.self)
        #expect(text.contains("UID:event-7@example.org\r\n"))
        #expect(text.contains("SEQUENCE:4\r\n"))
        #expect(text.contains("DTSTART:19700101T000001Z\r\n"))
        #expect(text.contains("SUMMARY:A\\, B\\; C\\\\D\\nE "))
        for line in text.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 75) }
        let unfolded = text.replacingOccurrences(of: "\r\n ", with: "")
        #expect(unfolded.contains(String(repeating: "ü", count: 60)))
    }

    @Test func dotStuffingDoublesLeadingDotsAndTerminates() {
        var buffer = ByteBuffer()
        SMTPConnection.dotStuff(Array(".start\r\nmiddle\r\n..two\r\nend".utf8), into: &buffer)
        #expect(String(buffer: buffer) == "..start\r\nmiddle\r\n...two\r\nend\r\n.\r\n")
    }

    @Test func durationsReadNaturally() {
        #expect(ReminderMessages.duration(minutes: 30) == "30 minutes")
        #expect(ReminderMessages.duration(minutes: 60) == "1 hour")
        #expect(ReminderMessages.duration(minutes: 1441) == "1 day 1 minute")
        #expect(ReminderMessages.localTime(Timestamp(millisecondsSinceEpoch: 0), zone: .utc) == "Thursday 1 January 1970, 00:00 (UTC)")
    }

    @Test func rfc5322Date() {
        #expect(MIMEMessage.date(Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)) == "Tue, 14 Nov 2023 22:13:20 +0000")
    }

    @Test func addressesAreNeverEncodedWords() {
        let mail = messages.compose(sampleClaim(email: "dörte@exämple.com"), now: .minimum)
        let text = String(decoding: mail.data, as: UTF8.self)
        #expect(text.contains("\r\nTo: dörte@exämple.com\r\n"))
        #expect(!text.contains("To: =?UTF-8"))
        #expect(mail.needsSMTPUTF8)
    }
}
