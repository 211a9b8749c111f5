import EventManagerCore
import Hummingbird

/// Webhook endpoints over HTTP: register, list, change, delete, ping, and each one's delivery log.
///
/// An endpoint belongs to the account that registered it, so webhooks always need an API key,
/// even where `auth.mode` is disabled. Owners see and manage their endpoints; admins all of them.
struct WebhookController: Sendable {
    let repository: any WebhookRepository
    let clock: any WallClock
    let limits: APILimits
    let policy: WebhookAddressPolicy
    /// Called after a ping is queued, to wake the dispatcher on this node.
    let queueChanged: @Sendable () -> Void

    static let defaultLimit = 100
    static let maxLimit = 1000

    func addRoutes(to routes: RouteTable) {
        routes.add(.post, "/webhooks") { request, context in try await create(request, context) }
        routes.add(.get, "/webhooks") { request, context in try await list(request, context) }
        routes.add(.get, "/webhooks/:id") { _, context in
            let webhook = try await authorized(context)
            return Response.json { $0.webhook(webhook, secret: false) }
        }
        routes.add(.patch, "/webhooks/:id") { request, context in try await update(request, context) }
        routes.add(.delete, "/webhooks/:id") { _, context in
            let webhook = try await authorized(context)
            guard try await repository.delete(id: webhook.id) else { throw Self.notFound(webhook.id) }
            return Response(status: .noContent)
        }
        routes.add(.post, "/webhooks/:id/ping") { _, context in
            let webhook = try await authorized(context)
            let message = try await repository.ping(webhook, now: clock.now())
            queueChanged()
            return Response.json(status: .accepted) { $0.webhookMessage(message) }
        }
        routes.add(.get, "/webhooks/:id/deliveries") { request, context in try await log(request, context) }
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let principal = try Self.principal(context)
        let body = try await RequestInput.json(request, limit: limits.maxBodyBytes)
        let registration = try WebhookRegistration.validate(body, partial: false, policy: policy).get()
        var webhook = try await repository.create(
            accountID: principal.accountID, url: registration.url ?? "", eventTypes: registration.eventTypes ?? [],
            secret: Webhook.makeSecret(), now: clock.now())
        // Registered paused: it hears nothing until it is turned on.
        if registration.active == false,
            let paused = try await repository.update(id: webhook.id, change: WebhookRegistration(active: false), now: clock.now())
        {
            webhook.disabledAt = paused.disabledAt
            webhook.disabledReason = paused.disabledReason
        }
        var response = Response.json(status: .created) { $0.webhook(webhook, secret: true) }
        response.headers[.location] = "/webhooks/\(webhook.id)"
        return response
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let principal = try Self.principal(context)
        let parameters = try RequestInput.query(request)
        let (limit, cursor) = try Self.page(parameters)
        let webhooks = try await repository.list(
            accountID: principal.role == .admin ? nil : principal.accountID, afterID: cursor, limit: limit + 1)
        var response = Response.json(capacity: 64 + webhooks.count * 256) { writer in
            writer.array(webhooks.prefix(limit)) { $0.webhook($1, secret: false) }
        }
        if webhooks.count > limit {
            response.headers[.link] = RequestInput.nextLink(path: request.uri.path, parameters, cursor: String(webhooks[limit - 1].id))
        }
        return response
    }

    func update(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let webhook = try await authorized(context)
        let body = try await RequestInput.json(request, limit: limits.maxBodyBytes, also: ["application/merge-patch+json"])
        let change = try WebhookRegistration.validate(body, partial: true, policy: policy).get()
        guard let updated = try await repository.update(id: webhook.id, change: change, now: clock.now()) else {
            throw Self.notFound(webhook.id)
        }
        return Response.json { $0.webhook(updated, secret: false) }
    }

    func log(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let webhook = try await authorized(context)
        let parameters = try RequestInput.query(request)
        let (limit, cursor) = try Self.page(parameters)
        var state: WebhookMessage.State?
        if let text = parameters.last(where: { $0.0 == "state" })?.1 {
            guard let parsed = WebhookMessage.State(rawValue: text) else {
                throw AppError(
                    .badRequest, code: "invalid_parameter", message: "state must be one of pending, sending, delivered, failed",
                    details: .validValues(WebhookMessage.State.allCases.map(\.rawValue)))
            }
            state = parsed
        }
        let messages = try await repository.messages(webhookID: webhook.id, state: state, beforeID: cursor, limit: limit + 1)
        var response = Response.json(capacity: 64 + messages.count * 600) { writer in
            writer.array(messages.prefix(limit)) { $0.webhookMessage($1) }
        }
        if messages.count > limit {
            response.headers[.link] = RequestInput.nextLink(path: request.uri.path, parameters, cursor: String(messages[limit - 1].id))
        }
        return response
    }

    /// The endpoint named in the path, when the caller may manage it; another account's is
    /// reported as missing, so ids reveal nothing.
    func authorized(_ context: AppRequestContext) async throws -> Webhook {
        let principal = try Self.principal(context)
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text), id > 0 else {
            throw AppError(.notFound, code: "webhook_not_found", message: "no webhook with id '\(text.prefix(64))'")
        }
        guard let webhook = try await repository.find(id: id), principal.role == .admin || webhook.accountID == principal.accountID
        else { throw Self.notFound(id) }
        return webhook
    }

    static func principal(_ context: AppRequestContext) throws -> Principal {
        guard let principal = context.principal else {
            throw AppError(
                .unauthorized, code: "unauthorized",
                message: "webhooks belong to an account: send its API key (Authorization: Bearer em_...)")
        }
        return principal
    }

    /// `limit` (1 to 1000, default 100) and `cursor` (the last id of the previous page).
    static func page(_ parameters: [(String, String)]) throws -> (limit: Int, cursor: Int64?) {
        var limit = defaultLimit
        var cursor: Int64?
        for (name, value) in parameters {
            switch name {
            case "limit":
                guard let parsed = Int(value), (1...maxLimit).contains(parsed) else {
                    throw AppError(.badRequest, code: "invalid_parameter", message: "limit must be an integer from 1 to \(maxLimit)")
                }
                limit = parsed
            case "cursor":
                guard let parsed = Int64(value), parsed > 0 else {
                    throw AppError(.badRequest, code: "invalid_cursor", message: "cursor must be the value a Link header gave")
                }
                cursor = parsed
            default:
                continue
            }
        }
        return (limit, cursor)
    }

    static func notFound(_ id: Int64) -> AppError {
        AppError(.notFound, code: "webhook_not_found", message: "no webhook with id \(id)")
    }
}

extension JSONWriter {
    /// An endpoint; its secret only in the answer that created it.
    mutating func webhook(_ webhook: Webhook, secret: Bool) {
        raw("{\"id\":")
        integer(webhook.id)
        raw(",\"url\":")
        string(webhook.url)
        raw(",\"events\":")
        array(webhook.eventTypes) { $0.string($1.rawValue) }
        raw(",\"active\":")
        bool(webhook.isActive)
        raw(",\"disabled_at\":")
        if let at = webhook.disabledAt { timestamp(at) } else { raw("null") }
        raw(",\"disabled_reason\":")
        if let reason = webhook.disabledReason { string(reason) } else { raw("null") }
        raw(",\"account_id\":")
        integer(webhook.accountID)
        raw(",\"created_at\":")
        timestamp(webhook.createdAt)
        raw(",\"updated_at\":")
        timestamp(webhook.updatedAt)
        if secret {
            raw(",\"secret\":")
            string(webhook.secret)
        }
        raw("}")
    }

    /// One message of an endpoint's delivery log, with the body it carries.
    mutating func webhookMessage(_ message: WebhookMessage) {
        raw("{\"id\":")
        integer(message.id)
        raw(",\"webhook_id\":")
        integer(message.webhookID)
        raw(",\"message_id\":")
        string(message.messageID)
        raw(",\"type\":")
        string(message.type.rawValue)
        raw(",\"state\":")
        string(message.state.rawValue)
        raw(",\"attempts\":")
        integer(Int64(message.attempts))
        raw(",\"next_attempt_at\":")
        if message.state == .pending { timestamp(message.nextAttemptAt) } else { raw("null") }
        raw(",\"last_status\":")
        if let status = message.lastStatus { integer(Int64(status)) } else { raw("null") }
        raw(",\"last_error\":")
        if let error = message.lastError { string(error) } else { raw("null") }
        raw(",\"last_latency_ms\":")
        if let latency = message.lastLatencyMilliseconds { integer(latency) } else { raw("null") }
        raw(",\"created_at\":")
        timestamp(message.createdAt)
        raw(",\"delivered_at\":")
        if let at = message.deliveredAt { timestamp(at) } else { raw("null") }
        raw(",\"payload\":")
        bytes.append(contentsOf: message.payload)
        raw("}")
    }
}
