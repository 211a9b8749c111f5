import EventManagerCore
import Hummingbird
import NIOCore

/// The reminder ledger: what happened to each email of an event, and a retry of what failed.
///
/// Addresses and server replies are personal and operational data: only the event's owner and
/// admins see them, as with the subscriber list.
struct DeliveryController: Sendable {
    let ledger: any DeliveryLedger
    let clock: any WallClock
    let access: Access
    /// The event a ledger belongs to, for the owner check; nil for an unknown event.
    let event: @Sendable (Int64) async throws -> Event?
    /// Called after a retry has committed, to wake the worker.
    let queueChanged: @Sendable () -> Void

    func addRoutes(to routes: RouteTable) {
        routes.add(.get, "/events/:id/deliveries") { request, context in try await list(request, context) }
        routes.add(.get, "/deliveries/:id") { _, context in
            let record = try await authorized(try Self.deliveryID(context), context)
            return Response.json { $0.delivery(record) }
        }
        routes.add(.post, "/deliveries/:id/retry") { _, context in try await retry(context) }
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let writer = try access.writer(context)
        let eventID = try RequestInput.eventID(context)
        let parameters = try RequestInput.query(request)
        let query = try DeliveryListQuery.parse(eventID: eventID, parameters)
        guard let event = try await event(eventID) else { throw AppError.eventNotFound(eventID) }
        try access.checkChange(event, by: writer)
        var records = try await ledger.deliveries(query)
        var response = Response.json(capacity: 64 + records.count * 320) { writer in
            writer.array(records.prefix(query.limit)) { $0.delivery($1) }
        }
        if records.count > query.limit {
            records.removeLast(records.count - query.limit)
            response.headers[.link] = RequestInput.nextLink(
                path: request.uri.path, parameters, cursor: String(records[records.count - 1].id))
        }
        return response
    }

    func retry(_ context: AppRequestContext) async throws -> Response {
        let id = try Self.deliveryID(context)
        _ = try await authorized(id, context)
        switch try await ledger.retry(id: id, now: clock.now()) {
        case .success(let record):
            queueChanged()
            return Response.json(status: .accepted) { $0.delivery(record) }
        case .failure(.notFound):
            throw Self.notFound(id)
        case .failure(.notFailed(let state)):
            throw AppError(
                .conflict, code: "delivery_not_failed",
                message: "delivery \(id) is \(state.rawValue); only a failed delivery can be retried")
        }
    }

    /// The delivery, when the caller may see it: the owner of its event, or an admin. A
    /// delivery of a deleted event (its cancellation notice) is for admins only.
    private func authorized(_ id: Int64, _ context: AppRequestContext) async throws -> DeliveryRecord {
        let writer = try access.writer(context)
        guard let record = try await ledger.delivery(id: id) else { throw Self.notFound(id) }
        if let event = try await event(record.eventID) {
            try access.checkChange(event, by: writer)
        } else if let writer, writer.role != .admin {
            throw Self.notFound(id)
        }
        return record
    }

    static func deliveryID(_ context: AppRequestContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text), id > 0 else {
            throw AppError(.notFound, code: "delivery_not_found", message: "no delivery with id '\(text.prefix(64))'")
        }
        return id
    }

    static func notFound(_ id: Int64) -> AppError {
        AppError(.notFound, code: "delivery_not_found", message: "no delivery with id \(id)")
    }
}
