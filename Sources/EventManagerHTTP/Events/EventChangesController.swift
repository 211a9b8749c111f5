import EventManagerCore
import Hummingbird
import NIOCore

/// `GET /events/changes`: incremental sync. Without `since`, every event from the beginning;
/// with `since`, what was created, changed or deleted after it. Pages follow `Link: rel="next"`
/// like the list; the last page carries the `sync_token` to send next time.
struct EventChangesController: Sendable {
    let feed: any EventChangeFeed

    static let defaultLimit = 100
    static let maxLimit = 1000

    func addRoutes(to routes: RouteTable) {
        routes.add(.get, "/events/changes") { request, _ in try await changes(request) }
    }

    func changes(_ request: Request) async throws -> Response {
        var since = SyncToken(position: 0)
        var limit = Self.defaultLimit
        for (name, value) in try RequestInput.query(request) {
            switch name {
            case "since": since = try SyncToken.parse(value)
            case "limit":
                guard let parsed = Int(value), (1...Self.maxLimit).contains(parsed) else {
                    throw AppError.badParameter("limit", value, expected: "an integer from 1 to \(Self.maxLimit)")
                }
                limit = parsed
            default:
                throw AppError(
                    .badRequest, code: "unknown_parameter",
                    message: "unexpected query parameter '\(name.prefix(64))'; accepted: since, limit")
            }
        }
        let page = try await feed.changes(after: since.position, limit: limit)
        let reached = SyncToken(position: page.lastPosition ?? since.position)
        var response = Response.json(capacity: 64 + page.changed.count * 256 + page.deleted.count * 12) { writer in
            writer.raw("{\"changed\":")
            writer.events(page.changed)
            writer.raw(",\"deleted\":")
            writer.array(page.deleted) { $0.integer($1) }
            writer.raw(",\"sync_token\":")
            if page.hasMore { writer.raw("null") } else { writer.string(reached.encoded) }
            writer.raw("}")
        }
        if page.hasMore {
            response.headers[.link] = "</events/changes?since=\(reached.encoded)&limit=\(limit)>; rel=\"next\""
        }
        return response
    }
}
