import EventManagerCore
import Hummingbird
import NIOCore

/// The public pages: upcoming events, an event with its subscribe form, and what follows a
/// subscription; rendered on the server, working without JavaScript.
///
/// The form posts here only (an `Origin` from another site is refused), and subscribing through
/// it follows the same rules and limits as the JSON API, with every refusal shown in words.
struct PageController: Sendable {
    let events: any EventRepository
    let subscriptions: SubscriptionController
    let templates: PageTemplates
    let clock: any WallClock
    let calendar: CalendarSettings

    static let pageSize = 20
    /// The list's filters a page link may carry (the form shows the first three).
    static let filters: Set<String> = [
        "q", "start_date", "end_date", "title", "location", "popularity", "min_popularity", "max_popularity", "cursor",
    ]
    /// Soonest first.
    static let order = EventSort(field: .date, descending: false)
    /// The reminder choices of the form, in minutes.
    static let choices: [(minutes: Int64, label: String)] = [
        (10, "10 minutes before"), (30, "30 minutes before"), (60, "1 hour before"), (1440, "1 day before"),
    ]

    /// Whether a path is a page, whose errors are shown as pages too.
    static func isPage(_ path: String) -> Bool { path == "/" || path.hasPrefix("/e/") }

    func addRoutes(to routes: RouteTable) {
        routes.addPage(.get, "/") { request, _ in try await list(request) }
        routes.addPage(.get, "/e/:id") { _, context in
            let event = try await find(context)
            return templates.page("event", eventValues(event, email: "", minutes: 30, error: nil))
        }
        routes.addPage(.post, "/e/:id/subscribe", isPublic: true) { request, context in try await subscribe(request, context) }
        routes.addPage(.get, "/assets/site.css") { _, _ in asset(templates.stylesheet, type: "text/css; charset=utf-8") }
        routes.addPage(.get, "/assets/local-time.js") { _, _ in asset(templates.script, type: "text/javascript; charset=utf-8") }
    }

    func list(_ request: Request) async throws -> Response {
        let parameters = try RequestInput.query(request).filter { !$0.1.isEmpty }
        var values: [String: Any] = ["title": "Upcoming events"]
        for name in ["q", "start_date", "end_date"] { values[name] = parameters.last { $0.0 == name }?.1 ?? "" }
        var query: EventListQuery
        do {
            query = try EventListQuery.parse(
                parameters.filter { Self.filters.contains($0.0) }, fixedSort: Self.order)
        } catch {
            values["error"] = error.message
            values["events"] = [[String: Any]]()
            return templates.page("events", values, status: .badRequest)
        }
        query.limit = Self.pageSize
        if query.filter.startsFrom == nil { query.filter.startsFrom = clock.now() }
        var found = try await events.list(query)
        if found.count > Self.pageSize {
            found.removeLast(found.count - Self.pageSize)
            let last = found[found.count - 1]
            let cursor = EventCursor(sort: query.sort, key: query.sort.key(of: last), id: last.id)
            values["next"] = RequestInput.nextPage(path: "/", parameters, cursor: cursor.encoded)
        }
        values["has_events"] = !found.isEmpty
        if let q = parameters.last(where: { $0.0 == "q" })?.1 { values["searched"] = q }
        values["events"] = found.map { event -> [String: Any] in
            [
                "id": event.id, "title": event.title, "location": event.location, "datetime": event.startsAt.rfc3339,
                "when": Self.when(event),
            ]
        }
        return templates.page("events", values)
    }

    func subscribe(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard Self.sameOrigin(request, publicURL: calendar.publicURL) else {
            return templates.message(
                "Not sent from this site", "This form can only be sent from this site's own event page.", status: .forbidden, bad: true)
        }
        let event = try await find(context)
        let form = try await Self.form(request, limit: 16_384)
        let raw = form["email"] ?? ""
        let minutes = Int64(form["minutes"] ?? "").flatMap { value in Self.choices.first { $0.minutes == value }?.minutes } ?? 30
        let email: EmailAddress
        switch EmailAddress.parse(raw) {
        case .success(let parsed): email = parsed
        case .failure(let error):
            let message = raw.isEmpty ? "Enter your email address." : "Enter an address like name@example.com: \(error.message)."
            return templates.page("event", eventValues(event, email: raw, minutes: minutes, error: message), status: .unprocessableContent)
        }
        let back: [String: Any] = ["back": "/e/\(event.id)", "back_label": "Back to \(event.title)"]
        if let existing = try await subscriptions.repository.existing(eventID: event.id, email: email) {
            let text =
                existing.subscription.status == .pending
                ? "\(email.value) is already subscribed; follow the link in the confirmation email to get the reminder."
                : "\(email.value) already gets a reminder for this event; nothing changed."
            return templates.message("Already subscribed", text, extra: back.merging(personal(existing.subscription)) { $1 })
        }
        do {
            let charged = try await subscriptions.chargeLimits(email: email, eventID: event.id)
            let request = SubscriptionRequest(email: email, remindBeforeMinutes: minutes)
            let (view, created) = try await subscriptions.repository.subscribe(eventID: event.id, request: request, now: clock.now())
            if created { subscriptions.queueChanged() } else { charged.refund() }
            if view.subscription.status == .pending {
                return templates.message(
                    "Check your inbox", "We sent a confirmation link to \(email.value). The reminder is scheduled once you follow it.",
                    status: .created, extra: back)
            }
            let choice = Self.choices.first { $0.minutes == minutes }?.label ?? "\(minutes) minutes before"
            return templates.message(
                "Subscribed", "\(email.value) will get a reminder \(choice.lowercased()) \(event.title) starts.", status: .created,
                extra: back.merging(personal(view.subscription)) { $1 })
        } catch let refusal as RateLimitRefusal {
            var response = templates.message(
                "Too many requests", "Too many subscriptions were asked for at once. Please try again in a little while.",
                status: .tooManyRequests, bad: true, extra: back)
            response.headers[.retryAfter] = String(max(1, refusal.decision.retryAfterSeconds))
            return response
        } catch let error as AppError where error.code == "event_started" {
            return templates.message(
                "The event has started", "It no longer takes subscriptions: there is nothing left to remind you of.", status: .conflict,
                bad: true, extra: back)
        }
    }

    /// The values of the event page.
    func eventValues(_ event: Event, email: String, minutes: Int64, error: String?) -> [String: Any] {
        let pageURL = calendar.pageURL(eventID: event.id)
        var values: [String: Any] = [
            "title": event.title, "id": event.id, "location": event.location, "datetime": event.startsAt.rfc3339,
            "when": Self.when(event), "zone": event.timeZone.identifier, "email": email,
            "started": clock.now() >= event.startsAt, "google": Self.googleLink(event, pageURL: pageURL),
            "webcal": CalendarSettings.webcal(calendar.publicURL + "/calendar.ics"),
            "choices": Self.choices.map { ["minutes": $0.minutes, "label": $0.label, "selected": $0.minutes == minutes] as [String: Any] },
        ]
        if let error { values["email_error"] = error }
        return values
    }

    /// The link to the subscriber's personal calendar, when the subscription has one.
    func personal(_ subscription: Subscription) -> [String: Any] {
        guard let token = subscription.feedToken else { return [:] }
        return ["calendar": CalendarSettings.webcal(calendar.publicURL + "/calendar/\(token).ics")]
    }

    func find(_ context: AppRequestContext) async throws -> Event {
        let id = try RequestInput.eventID(context)
        guard let event = try await events.find(id: id) else { throw AppError.eventNotFound(id) }
        return event
    }

    func asset(_ body: ByteBuffer, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600", .xContentTypeOptions: "nosniff"],
            body: .init(byteBuffer: body))
    }

    /// `Sunday 27 October 2030, 18:30 (Europe/Paris)`, or the day alone for a date-only event.
    static func when(_ event: Event) -> String {
        guard event.isDateOnly else { return CivilTime.spoken(event.startsAt, in: event.timeZone) }
        let spoken = CivilTime(event.startsAt, in: event.timeZone).spoken
        return String(spoken.split(separator: ",").first ?? Substring(spoken))
    }

    /// Google Calendar's "add event" link: times in UTC, an hour long (events have no end).
    static func googleLink(_ event: Event, pageURL: String) -> String {
        let dates: String
        if event.isDateOnly {
            let day = CivilTime(event.startsAt, in: event.timeZone).iCalendarUTC.prefix(8)
            let next = CivilTime(event.startsAt.adding(milliseconds: 27 * 3_600_000), in: event.timeZone).iCalendarUTC.prefix(8)
            dates = "\(day)/\(next)"
        } else {
            dates = CivilTime(event.startsAt).iCalendarUTC + "/" + CivilTime(event.startsAt.adding(milliseconds: 3_600_000)).iCalendarUTC
        }
        let parts = [("action", "TEMPLATE"), ("text", event.title), ("dates", dates), ("location", event.location), ("details", pageURL)]
        return "https://calendar.google.com/calendar/render?"
            + parts.map { "\($0.0)=\(RequestInput.encodeQueryComponent($0.1))" }.joined(separator: "&")
    }

    /// Whether a form post comes from this site: its `Origin` (sent by browsers with every form
    /// post) is this site's public origin or the host it was sent to. A post without `Origin`
    /// (not a browser) is let through: cross-site forgery needs a browser.
    static func sameOrigin(_ request: Request, publicURL: String) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        if origin == "null" { return false }
        let own = publicURL.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).prefix(3).joined(separator: "/")
        if origin == own { return true }
        guard let host = request.headers[.host] ?? request.uri.host else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    /// An `application/x-www-form-urlencoded` body, last value of each name.
    static func form(_ request: Request, limit: Int) async throws -> [String: String] {
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw AppError(
                .unsupportedMediaType, code: "unsupported_media_type", message: "send the form as application/x-www-form-urlencoded")
        }
        let body = String(buffer: try await request.body.collect(upTo: limit))
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = RequestInput.decodeComponent(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? RequestInput.decodeComponent(parts[1]) ?? "" : ""
        }
        return fields
    }
}
