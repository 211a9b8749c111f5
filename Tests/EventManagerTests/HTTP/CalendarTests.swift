import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerMail
@testable import EventManagerStorage

/// Every calendar the service makes, read back by Python's icalendar package: a download, the
/// public feed, a personal feed, and emails' attachments before and after a move and after a
/// deletion; on both databases.
@Suite(.resources, .enabled(if: ICalendarParser.available, "needs python3 with icalendar (pip install icalendar)"), .timeLimit(.minutes(2)))
struct CalendarTests {
    /// The sender the worker below uses: UIDs take its domain.
    static func sender(_ configuration: inout AppConfiguration) { configuration.smtpDefaultSender = "reminders@test.example" }

    static let title = #"Kick-off, part 1; "Große Halle" \ "# + String(repeating: "Überraschung ", count: 8)

    @Test(arguments: Backend.all) func calendarsFollowTheEventAndParseElsewhere(backend: Backend) async throws {
        let clock = ManualClock("2030-01-01T10:00:00Z")
        let transport = RecordingTransport()
        try await withTestApp(
            backend: backend, clock: clock, authMode: .required, role: .api, transport: transport,
            configure: Self.sender
        ) { client, store in
            let owner = try await apiKey(store, name: "owner")
            let title = Self.title.trimmingCharacters(in: .whitespaces)
            let body = try JSONSerialization.data(withJSONObject: [
                "title": Self.title, "location": "Hall 1, Floor 2", "date": "2030-01-02T09:30:00+02:00", "timezone": "Europe/Berlin",
            ])
            let created = try await client.send(.post, "/events", json: String(decoding: body, as: UTF8.self), headers: owner)
            #expect(created.status == .created)
            #expect(
                try await client.send(.post, "/events", json: #"{"title":"Day","location":"Park","date":"2030-01-05"}"#, headers: owner)
                    .status == .created)
            let subscribed = try await client.send(
                .post, "/events/1/subscriptions", json: #"{"email":"ann@example.com","remind_before_minutes":60}"#)
            #expect(subscribed.status == .created)

            let download = try await client.send(.get, "/events/1.ics")
            #expect(download.status == .ok)
            #expect(download.headers[.contentType] == "text/calendar; charset=utf-8")
            #expect(download.headers[.contentDisposition]?.contains("event-1.ics") == true)
            for line in String(buffer: download.body).components(separatedBy: "\r\n") { #expect(line.utf8.count <= 75) }

            // The public feed, with its validators: unchanged, it answers 304.
            let feed = try await client.send(.get, "/calendar.ics")
            let tag = try #require(feed.headers[.eTag])
            #expect(feed.headers[.lastModified] != nil)
            #expect(try await client.send(.get, "/calendar.ics", headers: [.ifNoneMatch: tag]).status == .notModified)

            // One personal feed per address: a second subscription shares its token.
            #expect(try await client.send(.post, "/events/2/subscriptions", json: #"{"email":"Ann@example.com"}"#).status == .created)
            let distinct = try await store.sqlRaw("SELECT COUNT(DISTINCT feed_token) AS n FROM subscriptions").first()
            #expect(try distinct?.decode(column: "n", as: Int.self) == 1)

            // The personal feed of the subscriber, with the reminder as an alarm.
            let tokenRow = try await store.sqlRaw("SELECT feed_token FROM subscriptions").first()
            let token = try #require(try tokenRow?.decode(column: "feed_token", as: String.self))
            let personal = try await client.send(.get, "/calendar/\(token).ics")
            #expect(personal.status == .ok)
            #expect(try await client.send(.get, "/calendar/nope.ics").status == .notFound)
            let wrongMethod = try await client.send(.post, "/events/1.ics")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "GET, HEAD")

            // The reminder goes out (due 06:30 UTC on the day) with the event as it is.
            clock.advance(milliseconds: (20 * 60 + 30) * 60_000)
            let worker = ReminderWorker(
                queue: SQLDeliveryQueue(store: store), transport: transport,
                messages: ReminderMessages(sender: "reminders@test.example", publicURL: "http://127.0.0.1:8000"), clock: clock,
                settings: WorkerSettings(), owner: "calendar-worker", logger: quietLogger(), jitter: { 0 })
            #expect(try await worker.processDueBatch() == 1)

            // The organiser moves it: a change notice goes out with an update.
            let moved = try await client.send(
                .patch, "/events/1", json: #"{"date":"2030-01-03T10:00:00+01:00","location":"Hall 2"}"#, headers: owner)
            #expect(moved.status == .ok)
            _ = try await worker.processDueBatch()
            let afterMove = try await client.send(.get, "/events/1.ics")
            let feedAfterMove = try await client.send(.get, "/calendar.ics", headers: [.ifNoneMatch: tag])
            #expect(feedAfterMove.status == .ok)

            // Deleted: the feed carries it as cancelled, and a cancellation notice goes out.
            #expect(try await client.send(.delete, "/events/1", headers: owner).status == .noContent)
            _ = try await worker.processDueBatch()
            let feedAfterDelete = try await client.send(.get, "/calendar.ics")
            let personalAfterDelete = try await client.send(.get, "/calendar/\(token).ics")
            let mails = transport.mails
            #expect(mails.count == 3)

            let parsed = try await ICalendarParser.parse(
                [download, feed, personal, afterMove, feedAfterDelete, personalAfterDelete].map { (Array(buffer: $0.body), false) }
                    + mails.map { ($0.data, true) })
            #expect(parsed.count == 9)
            let (one, feedOne, mine, oneMoved, feedDeleted, mineDeleted) = (
                parsed[0], parsed[1], parsed[2], parsed[3], parsed[4], parsed[5]
            )
            let (reminderMail, changeMail, cancelMail) = (parsed[6], parsed[7], parsed[8])
            let uid = "event-1@test.example"
            let first = try #require(one.events.first)
            #expect(first["uid"] as? String == uid)
            #expect(first["summary"] as? String == title)
            #expect(first["location"] as? String == "Hall 1, Floor 2")
            #expect(first["start"] as? String == "2030-01-02T07:30:00+00:00")
            #expect(first["sequence"] as? Int == 0)
            #expect(first["url"] as? String == "http://127.0.0.1:8000/e/1")
            // The date-only event is a whole day, the day it was given.
            #expect(feedOne.events.map { $0["start"] as? String } == ["2030-01-02T07:30:00+00:00", "2030-01-05"])
            #expect(feedOne.name == "Events")
            #expect(feedOne.refresh == "PT30M")
            #expect(mine.events.count == 2)
            #expect(mine.events.first?["alarms"] as? [Int] == [60])
            #expect(mine.events.last?["alarms"] as? [Int] == [30])
            #expect(mine.events.first?["uid"] as? String == uid)

            let movedEvent = try #require(oneMoved.events.first)
            #expect(movedEvent["start"] as? String == "2030-01-03T09:00:00+00:00")
            #expect(movedEvent["location"] as? String == "Hall 2")
            #expect(movedEvent["sequence"] as? Int == 1)
            // Before the move, the reminder's invitation has the first time and SEQUENCE.
            #expect(reminderMail.method == "REQUEST")
            #expect(reminderMail.events.first?["uid"] as? String == uid)
            #expect(reminderMail.events.first?["sequence"] as? Int == 0)
            #expect(reminderMail.events.first?["start"] as? String == "2030-01-02T07:30:00+00:00")
            // The change notice's attachment is an update the calendar applies: same UID, higher SEQUENCE.
            #expect(changeMail.method == "REQUEST")
            let update = try #require(changeMail.events.first)
            #expect(update["uid"] as? String == uid)
            #expect(update["sequence"] as? Int == 1)
            #expect(update["start"] as? String == "2030-01-03T09:00:00+00:00")
            #expect(update["organizer"] as? String == "mailto:reminders@test.example")
            #expect(update["attendees"] as? [String] == ["mailto:ann@example.com"])
            // Deleted: cancelled in the feed and by email, one SEQUENCE higher.
            let cancelledInFeed = try #require(feedDeleted.events.first { $0["uid"] as? String == uid })
            #expect(cancelledInFeed["status"] as? String == "CANCELLED")
            #expect(cancelledInFeed["sequence"] as? Int == 2)
            // The subscriber's own feed keeps it too, cancelled, beside the event that still stands.
            let mineCancelled = try #require(mineDeleted.events.first { $0["uid"] as? String == uid })
            #expect(mineCancelled["status"] as? String == "CANCELLED")
            #expect(mineDeleted.events.count == 2)
            #expect(cancelMail.method == "CANCEL")
            #expect(cancelMail.events.first?["status"] as? String == "CANCELLED")
            #expect(cancelMail.events.first?["sequence"] as? Int == 2)
            #expect(try await client.send(.get, "/events/1.ics").status == .notFound)
        }
    }
}

extension Array where Element == UInt8 {
    init(buffer: ByteBuffer) { self.init(buffer.readableBytesView) }
}
