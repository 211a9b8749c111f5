import EventManagerCore
import Foundation

/// Writes the emails subscribers receive: reminders, change notices and cancellations.
public struct ReminderMessages: Sendable {
    /// `smtp.default_sender`.
    public var sender: String
    /// `app.public_url`, for unsubscribe links.
    public var publicURL: String
    /// The right-hand side of calendar UIDs, from the sender.
    let senderDomain: String

    public init(sender: String, publicURL: String) {
        self.sender = sender
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.senderDomain = CalendarSettings.domain(ofSender: sender)
    }

    /// What the messages of one event have in common, rendered once for all its subscribers:
    /// the wording, the start in the event's zone, and the calendar attachment. One per
    /// connection (not shared, so no lock); it keeps the last few events.
    public final class Cache {
        struct Key: Hashable {
            var eventID: Int64
            var kind: DeliveryKind
            var sequence: Int64
            var subject: String
            var stampSecond: Int64
        }

        struct Shared {
            var content: Content
            var when: String
            /// The invitation up to its attendee, and after: the attendee is each message's own.
            var inviteHead: [UInt8]
            var inviteTail: [UInt8]
            var method: String
        }

        var entries: [Key: Shared] = [:]

        public init() {}
    }

    /// The message for a claimed delivery whose decision was `send`.
    public func compose(_ claimed: ClaimedDelivery, now: Timestamp, cache: Cache? = nil) -> OutgoingMail {
        let delivery = claimed.delivery
        let shared = self.shared(claimed, now: now, cache: cache)
        let content = shared.content
        var message = MIMEMessage()
        message.addressHeader("From", sender)
        message.addressHeader("To", delivery.email)
        message.header("Subject", content.subject)
        message.header("Date", MIMEMessage.date(now))
        message.header("Message-ID", delivery.messageID)
        message.header("Auto-Submitted", "auto-generated")
        var unsubscribeURL: String?
        if let token = claimed.unsubscribeToken, delivery.kind != .cancellation {
            let url = "\(publicURL)/unsubscribe?token=\(token)"
            unsubscribeURL = url
            message.header("List-Unsubscribe", "<\(url)>")
            message.header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        }
        let when = shared.when
        var text = "\(content.heading)\r\n\r\n\(content.title)\r\nStarts: \(when)\r\nWhere: \(content.location)\r\n"
        var html = "<html><body><h1>\(HTML.escape(content.heading))</h1><p><strong>\(HTML.escape(content.title))</strong></p>"
        html += "<p>Starts: \(HTML.escape(when))<br>Where: \(HTML.escape(content.location))</p>"
        if let previous = content.previous {
            text += "\(previous)\r\n"
            html += "<p>\(HTML.escape(previous))</p>"
        }
        if delivery.kind == .confirmation, let token = claimed.unsubscribeToken {
            let confirmURL = "\(publicURL)/confirm?token=\(token)"
            text += "\r\nConfirm your subscription (no reminder is sent until you do): \(confirmURL)\r\n"
            html += "<p><a href=\"\(HTML.escape(confirmURL))\">Confirm your subscription</a> (no reminder is sent until you do)</p>"
        }
        if delivery.kind != .cancellation {
            let page = "\(publicURL)/e/\(delivery.eventID)"
            text += "\r\nEvent page: \(page)\r\n"
            html += "<p><a href=\"\(HTML.escape(page))\">Event page</a></p>"
        }
        if let token = claimed.calendarToken {
            // webcal:// opens as a subscription in Apple Calendar and Outlook; Google takes the https form.
            let feed = "\(publicURL)/calendar/\(token).ics"
            let webcal = CalendarSettings.webcal(feed)
            text += "Your calendar of reminders (subscribe once, it follows every change): \(webcal)\r\n"
            html += "<p><a href=\"\(HTML.escape(webcal))\">Your calendar of reminders</a>: subscribe once, it follows every change.</p>"
        }
        if let unsubscribeURL {
            text += "\r\nUnsubscribe: \(unsubscribeURL)\r\n"
            html += "<p><a href=\"\(HTML.escape(unsubscribeURL))\">Unsubscribe</a></p>"
        }
        html += "</body></html>"
        message.alternatives = [
            .init(contentType: "text/plain; charset=utf-8", body: Array(text.utf8)),
            .init(contentType: "text/html; charset=utf-8", body: Array(html.utf8)),
        ]
        message.attachments = [
            .init(
                contentType: "text/calendar; charset=utf-8; method=\(shared.method)",
                body: shared.inviteHead + ICalendarText.attendee(delivery.email) + shared.inviteTail, filename: "event.ics")
        ]
        let seed = delivery.messageID.filter { $0.isLetter || $0.isNumber }.prefix(24)
        return OutgoingMail(
            from: sender, to: delivery.email, messageID: delivery.messageID, data: message.render(boundarySeed: String(seed)))
    }

    /// The parts every subscriber of the event gets alike, from `cache` when it has them.
    private func shared(_ claimed: ClaimedDelivery, now: Timestamp, cache: Cache?) -> Cache.Shared {
        let delivery = claimed.delivery
        let content = Content(claimed, now: now)
        let key = Cache.Key(
            eventID: delivery.eventID, kind: delivery.kind, sequence: content.sequence, subject: content.subject,
            stampSecond: now.millisecondsSinceEpoch / 1000)
        // A notice's text comes from its own snapshot, not the event: never shared.
        let shareable = delivery.kind == .reminder || delivery.kind == .confirmation
        if shareable, let found = cache?.entries[key] { return found }
        // DTSTAMP to the second, the precision iCalendar gives it.
        let stamp = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch / 1000 * 1000)
        let cancelled = delivery.kind == .cancellation
        let entry = CalendarEntry(
            uid: CalendarEntry.uid(eventID: delivery.eventID, domain: senderDomain), sequence: content.sequence, stamp: stamp,
            lastModified: stamp, start: content.start, isDateOnly: content.isDateOnly, zone: content.zone, summary: content.title,
            location: content.location, url: "\(publicURL)/e/\(delivery.eventID)", cancelled: cancelled)
        // REQUEST, not PUBLISH: Gmail, Outlook and Apple Calendar apply a REQUEST with the same
        // UID and a higher SEQUENCE to the copy already in the calendar, and a CANCEL removes it;
        // a PUBLISH attachment is offered as a new event each time. See README "Calendars".
        let method = cancelled ? "CANCEL" : "REQUEST"
        let invite = CalendarDocument(method: method, organizer: sender, entries: [entry]).render()
        let split = Self.split(invite)
        let shared = Cache.Shared(
            content: content, when: Self.localTime(content.start, zone: content.zone), inviteHead: split.head, inviteTail: split.tail,
            method: method)
        if shareable, let cache {
            if cache.entries.count >= 16 { cache.entries.removeAll() }
            cache.entries[key] = shared
        }
        return shared
    }

    /// What a message says, from the live event for reminders or the snapshot for notices.
    struct Content {
        var subject: String
        var heading: String
        var title: String
        var location: String
        var start: Timestamp
        var zone: EventTimeZone
        var isDateOnly = false
        var sequence: Int64
        var previous: String?

        init(_ claimed: ClaimedDelivery, now: Timestamp) {
            let delivery = claimed.delivery
            if delivery.kind == .confirmation, let event = claimed.event {
                title = event.title
                location = event.location
                start = event.startsAt
                zone = event.timeZone
                isDateOnly = event.isDateOnly
                sequence = claimed.eventRevision
                subject = "Please confirm: reminders for \(title)"
                heading = "Please confirm your subscription"
            } else if delivery.kind == .reminder, let event = claimed.event {
                title = event.title
                location = event.location
                start = event.startsAt
                zone = event.timeZone
                isDateOnly = event.isDateOnly
                sequence = claimed.eventRevision
                let minutes = max(0, (event.startsAt.millisecondsSinceEpoch - now.millisecondsSinceEpoch + 30_000) / 60_000)
                let when = minutes == 0 ? "now" : "in \(ReminderMessages.duration(minutes: minutes))"
                subject = "Reminder: \(title) starts \(when)"
                heading = "Starts \(when)"
            } else {
                let notice =
                    delivery.notice ?? NoticeSnapshot(title: "event \(delivery.eventID)", location: "", startsAt: 0, timeZone: "UTC")
                title = notice.title
                location = notice.location
                start = Timestamp(millisecondsSinceEpoch: notice.startsAt)
                zone = EventTimeZone(identifier: notice.timeZone) ?? .utc
                sequence = notice.revision
                if delivery.kind == .cancellation {
                    subject = "Cancelled: \(title)"
                    heading = "This event has been cancelled"
                } else {
                    subject = "Changed: \(title)"
                    heading = "This event has changed"
                    var was: [String] = []
                    if let old = notice.previousStartsAt {
                        was.append("Previously: \(ReminderMessages.localTime(Timestamp(millisecondsSinceEpoch: old), zone: zone))")
                    }
                    if let old = notice.previousLocation { was.append("Previously at: \(old)") }
                    previous = was.isEmpty ? nil : was.joined(separator: "\r\n")
                }
            }
        }
    }

    /// A one-event calendar cut before its `END:VEVENT`, where each message's attendee goes.
    static func split(_ invite: [UInt8]) -> (head: [UInt8], tail: [UInt8]) {
        let marker = Array("END:VEVENT\r\n".utf8)
        guard invite.count >= marker.count,
            let start = (0...(invite.count - marker.count)).last(where: { invite[$0..<($0 + marker.count)].elementsEqual(marker) })
        else { return (invite, []) }
        return (Array(invite[..<start]), Array(invite[start...]))
    }

    /// `1 hour 30 minutes`, `2 days`, `30 minutes`.
    static func duration(minutes: Int64) -> String {
        let days = minutes / 1440
        let hours = minutes % 1440 / 60
        let rest = minutes % 60
        var parts: [String] = []
        if days > 0 { parts.append(days == 1 ? "1 day" : "\(days) days") }
        if hours > 0 { parts.append(hours == 1 ? "1 hour" : "\(hours) hours") }
        if rest > 0 { parts.append(rest == 1 ? "1 minute" : "\(rest) minutes") }
        return parts.joined(separator: " ")
    }

    /// `Sunday 27 October 2030, 18:30 (Asia/Jerusalem)`.
    static func localTime(_ instant: Timestamp, zone: EventTimeZone) -> String { CivilTime.spoken(instant, in: zone) }
}
