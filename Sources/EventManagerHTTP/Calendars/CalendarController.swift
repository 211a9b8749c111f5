import EventManagerCore
import Hummingbird
import NIOCore

/// Calendars over HTTP: one event's `.ics`, the public feed of the list's filters, and each
/// subscriber's personal feed with their reminders as alarms.
///
/// Feeds are polled by calendar apps, so they carry `ETag` and `Last-Modified` and answer 304
/// when nothing changed; deleted events stay in the public feed as STATUS:CANCELLED for as long
/// as the change feed remembers them (`sync.tombstone_days`), so subscribed calendars drop them.
struct CalendarController: Sendable {
    let events: any EventRepository
    let calendars: any CalendarRepository
    let clock: any WallClock
    let settings: CalendarSettings

    /// Past events a feed still shows when no `start_date` is given.
    static let pastWindowMilliseconds: Int64 = 30 * 86_400_000
    static let feedLimit = 1000

    func addRoutes(to routes: RouteTable) {
        routes.add(.get, "/events/{id}.ics") { request, context in try await event(request, context) }
        routes.add(.get, "/calendar.ics") { request, _ in try await feed(request) }
        routes.add(.get, "/calendar/{token}.ics") { request, context in try await personal(request, context) }
    }

    func event(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = try RequestInput.eventID(context)
        guard let event = try await events.find(id: id) else { throw AppError.eventNotFound(id) }
        let document = CalendarDocument(entries: [entry(event)])
        var response = respond(document, request: request, lastModified: event.updatedAt)
        response.headers[.contentDisposition] = "attachment; filename=\"event-\(id).ics\""
        return response
    }

    func feed(_ request: Request) async throws -> Response {
        let parameters = try RequestInput.query(request)
        var query = try EventListQuery.parse(parameters.filter { $0.0 != "limit" && $0.0 != "cursor" && $0.0 != "sort" })
        query.sort = EventSort(field: .date, descending: false)
        query.limit = Self.feedLimit
        if query.filter.startsFrom == nil {
            query.filter.startsFrom = clock.now().adding(milliseconds: -Self.pastWindowMilliseconds)
        }
        var found = try await events.list(query)
        if found.count > Self.feedLimit { found.removeLast(found.count - Self.feedLimit) }
        // DTSTAMP of a cancelled entry is its deletion, so an unchanged feed keeps its bytes and ETag.
        // A cancelled event is shown when it would still match the window; the other filters
        // are about what an event says, and a cancelled one must reach every feed that showed it.
        let cancelled = try await calendars.cancelled(
            startingFrom: query.filter.startsFrom, until: query.filter.startsUntil, limit: Self.feedLimit)
        var entries = found.map(entry)
        entries += cancelled.map { $0.entry(domain: settings.uidDomain, stamp: $0.deletedAt, pageURL: nil) }
        let lastModified = (found.map(\.updatedAt) + cancelled.map(\.deletedAt)).max()
        let name = parameters.isEmpty ? "Events" : "Events: " + parameters.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
        let document = CalendarDocument(name: name, refreshMinutes: settings.refreshMinutes, entries: entries)
        return respond(document, request: request, lastModified: lastModified)
    }

    func personal(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        guard token.utf8.count <= 64, let calendar = try await calendars.personal(feedToken: token) else {
            throw AppError(.notFound, code: "calendar_not_found", message: "no calendar has this link; it is in your reminder emails")
        }
        let entries =
            calendar.items.map { entry($0.event, alarmMinutes: $0.remindBeforeMinutes) }
            + calendar.cancelled.map { $0.entry(domain: settings.uidDomain, stamp: $0.deletedAt, pageURL: nil) }
        let document = CalendarDocument(name: "My event reminders", refreshMinutes: settings.refreshMinutes, entries: entries)
        let lastModified = (calendar.items.map(\.event.updatedAt) + calendar.cancelled.map(\.deletedAt)).max()
        var response = respond(document, request: request, lastModified: lastModified)
        // The link is a capability: not for shared caches.
        response.headers[.cacheControl] = "private, max-age=0"
        return response
    }

    private func entry(_ event: Event) -> CalendarEntry { entry(event, alarmMinutes: nil) }

    private func entry(_ event: Event, alarmMinutes: Int64?) -> CalendarEntry {
        // DTSTAMP is when the object was made; to the second, so that an unchanged feed stays byte-identical within it.
        CalendarEntry.event(
            event, domain: settings.uidDomain, stamp: event.updatedAt, pageURL: settings.pageURL(eventID: event.id),
            alarmMinutes: alarmMinutes)
    }

    /// The calendar with a strong ETag of its bytes and `Last-Modified`; 304 when the client has it.
    private func respond(_ document: CalendarDocument, request: Request, lastModified: Timestamp?) -> Response {
        let body = ByteBuffer(bytes: document.render())
        let tag = EntityTag.body(body)
        if Conditions(request).notModified(tag: tag, lastModified: lastModified) {
            return .notModified(tag: tag, lastModified: lastModified)
        }
        var response = Response(status: .ok, headers: [.contentType: CalendarDocument.mediaType], body: .init(byteBuffer: body))
        response.headers[.eTag] = tag
        if let lastModified { response.headers[.lastModified] = CivilTime(lastModified).httpDate }
        return response
    }
}
