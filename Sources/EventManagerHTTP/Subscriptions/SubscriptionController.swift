import EventManagerCore
import Hummingbird
import NIOCore

/// Subscribing to events, listing subscribers, and unsubscribing (RFC 8058 one-click included).
struct SubscriptionController: Sendable {
    let repository: any SubscriptionRepository
    let clock: any WallClock
    let limits: APILimits
    let defaultMinutes: Int64
    let limiters: RateLimiters
    let access: Access
    /// The owner of an event, for the subscriber list; nil for an unknown event.
    let eventOwner: @Sendable (Int64) async throws -> Event?
    /// Called after a change to the queue has committed, to wake the worker.
    let queueChanged: @Sendable () -> Void
    /// The pages' look for the confirm and unsubscribe pages; nil falls back to bare HTML.
    var templates: PageTemplates? = nil

    func addRoutes(to routes: RouteTable) {
        routes.add(.post, "/events/:id/subscriptions", isPublic: true) { request, context in
            try await subscribe(request, eventID: RequestInput.eventID(context), seedForm: false)
        }
        routes.add(.get, "/events/:id/subscriptions") { _, context in
            // Addresses are personal data: only the event's owner and admins see them.
            let writer = try access.writer(context)
            let eventID = try RequestInput.eventID(context)
            guard let event = try await eventOwner(eventID) else { throw AppError.eventNotFound(eventID) }
            try access.checkChange(event, by: writer)
            let views = try await repository.subscriptions(eventID: eventID)
            return Response.json { writer in writer.array(views) { $0.subscription($1) } }
        }
        routes.add(.post, "/subscribe", isPublic: true) { request, _ in try await subscribe(request, eventID: nil, seedForm: true) }
        routes.add(.delete, "/subscriptions/:token", isPublic: true) { _, context in
            guard try await repository.unsubscribe(token: context.parameters.get("token") ?? "", now: clock.now()) else {
                throw Self.unknownToken
            }
            return Response(status: .noContent)
        }
        routes.add(.get, "/unsubscribe") { request, _ in try confirmationPage(request) }
        routes.add(.post, "/unsubscribe", isPublic: true) { request, _ in try await oneClick(request) }
        routes.add(.get, "/confirm") { request, _ in
            let token = try Self.token(request)
            return page(
                "Confirm", "Send me reminders for this event.", form: PageForm(action: "/confirm?token=\(token)", button: "Confirm"))
        }
        routes.add(.post, "/confirm", isPublic: true) { request, _ in
            guard let outcome = try await repository.confirm(token: Self.token(request), now: clock.now()) else { throw Self.unknownToken }
            switch outcome {
            case .confirmed:
                queueChanged()
                return page("Confirmed", "You will get a reminder before the event starts.")
            case .alreadyConfirmed:
                return page("Already confirmed", "This subscription is active; nothing changed.")
            case .unsubscribed:
                return page(
                    "Unsubscribed",
                    "You unsubscribed from this event, so this link no longer confirms anything. Subscribe again to get reminders.",
                    status: .conflict, bad: true)
            case .eventOver:
                return page(
                    "Too late", "This event has already started; there is nothing left to remind you of.", status: .conflict, bad: true)
            }
        }
    }

    /// A page in the site's look, or bare HTML when the templates are not loaded.
    func page(_ title: String, _ text: String, form: PageForm? = nil, status: HTTPResponse.Status = .ok, bad: Bool = false) -> Response {
        guard let templates else { return Response.page(title, HTML.escape(text), form: form?.html ?? "", status: status) }
        var extra: [String: Any] = [:]
        if let form {
            extra = ["form_action": form.action, "form_button": form.button]
            if let field = form.field {
                extra["form_field"] = field
                extra["form_value"] = form.value ?? ""
            }
        }
        var response = templates.message(title, text, status: status, bad: bad, extra: extra)
        // These URLs carry a token: no page they link to may learn it, not even this site's.
        response.headers[.referrerPolicy] = "no-referrer"
        return response
    }

    func subscribe(_ request: Request, eventID pathID: Int64?, seedForm: Bool) async throws -> Response {
        let body = try await RequestInput.json(request, limit: limits.maxBodyBytes)
        var eventID = pathID
        if seedForm {
            guard case .object(let object) = body, case .integer(let id)? = object["event_id"], id > 0 else {
                throw AppError.validation([FieldError(field: "event_id", code: "required", message: "event_id must be a positive integer")])
            }
            eventID = id
        }
        let subscriptionRequest = try SubscriptionRequest.validate(
            body, defaultMinutes: defaultMinutes, extraFields: seedForm ? ["event_id"] : []
        ).get()
        // Asking again for a subscription that exists is answered with it, and costs no budget of
        // the limits on new subscriptions.
        // Under an Idempotency-Key the answer is recorded with the subscription's own write.
        let answer: @Sendable ((SubscriptionView, created: Bool)) -> StoredResponse = { result in
            .json(
                status: result.created ? .created : .ok,
                headers: [(name: "Location", value: "/events/\(result.0.subscription.eventID)/subscriptions")]
            ) { $0.subscription(result.0) }
        }
        IdempotentWrite.current?.renders(answer)
        let result: (SubscriptionView, created: Bool)
        do {
            let charged = try await chargeLimits(email: subscriptionRequest.email, eventID: eventID!)
            result = try await repository.subscribe(eventID: eventID!, request: subscriptionRequest, now: clock.now())
            if !result.created { charged.refund() }
        } catch let refusal where refusal is RateLimitRefusal || (refusal as? AppError)?.code == "event_started" {
            // Refused by a limit or by the event (it started): a subscription that exists is
            // still answered, as asking again always is.
            guard let existing = try await repository.existing(eventID: eventID!, email: subscriptionRequest.email) else {
                throw refusal
            }
            result = (existing, false)
        }
        if result.created { queueChanged() }
        return Response(answer(result))
    }

    /// Counts a subscription against the limits on one inbox and one event, which nobody may
    /// flood whatever addresses they send from; a refusal describes the limit that refused
    /// (`RateLimit-Policy` of class `email` or `event`).
    ///
    /// Counted before the write, which is where a subscription turns out to exist; asking again
    /// costs nothing, so the returned `Charge` gives the count back then. Reading first whether
    /// it exists cost a sixth of a subscription's CPU.
    func chargeLimits(email: EmailAddress, eventID: Int64) async throws -> Charge {
        guard limiters.settings.enabled else { return Charge() }
        let now = clock.now()
        let perEmail = await limiters.check(limiters.perEmail, email.mailbox, now: now)
        guard perEmail.allowed else {
            throw RateLimitRefusal(name: "email", limiter: limiters.perEmail, decision: perEmail, scope: "subscriptions for this address")
        }
        let perEvent = await limiters.check(limiters.perEvent, String(eventID), now: now)
        guard perEvent.allowed else {
            limiters.perEmail.refund(email.mailbox, now: now)
            throw RateLimitRefusal(
                name: "event", limiter: limiters.perEvent, decision: perEvent, scope: "subscriptions to event \(eventID)")
        }
        return Charge(refunds: [(limiters.perEmail, email.mailbox), (limiters.perEvent, String(eventID))], now: now)
    }

    /// What `chargeLimits` counted, to give back.
    struct Charge {
        var refunds: [(limiter: any RateLimiting, key: String)] = []
        var now = Timestamp.minimum

        func refund() {
            for (limiter, key) in refunds { limiter.refund(key, now: now) }
        }
    }

    /// `GET /unsubscribe?token=`: a page with a button; never unsubscribes by itself, since mail
    /// scanners follow links.
    func confirmationPage(_ request: Request) throws -> Response {
        let token = try Self.token(request)
        return page(
            "Unsubscribe", "Stop reminders and notices for this event?",
            form: PageForm(action: "/unsubscribe?token=\(token)", field: "List-Unsubscribe", value: "One-Click", button: "Unsubscribe"))
    }

    /// `POST /unsubscribe?token=` with `List-Unsubscribe=One-Click` (RFC 8058).
    func oneClick(_ request: Request) async throws -> Response {
        let token = try Self.token(request)
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        guard contentType.hasPrefix("application/x-www-form-urlencoded") || contentType.hasPrefix("multipart/form-data") else {
            throw AppError(
                .unsupportedMediaType, code: "unsupported_media_type",
                message: "send the form body List-Unsubscribe=One-Click as application/x-www-form-urlencoded or multipart/form-data"
            )
        }
        let buffer = try await request.body.collect(upTo: 4096)
        let body = String(buffer: buffer)
        guard body.contains("List-Unsubscribe=One-Click") else {
            throw AppError.validation([
                FieldError(field: "List-Unsubscribe", code: "required", message: "the body must contain List-Unsubscribe=One-Click")
            ])
        }
        guard try await repository.unsubscribe(token: token, now: clock.now()) else { throw Self.unknownToken }
        return page("Unsubscribed", "You are unsubscribed: no more reminders or notices for this event.")
    }

    static func token(_ request: Request) throws -> String {
        let parameters = try RequestInput.query(request)
        guard let token = parameters.first(where: { $0.0 == "token" })?.1, !token.isEmpty else {
            throw AppError(.badRequest, code: "missing_parameter", message: "query parameter 'token' is required")
        }
        guard token.utf8.count <= 100, token.utf8.allSatisfy(Self.isTokenByte) else {
            throw AppError.badParameter("token", token, expected: "the token from an email link (letters, digits, '-' and '_')")
        }
        return token
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
    }

    static var unknownToken: AppError { AppError(.notFound, code: "subscription_not_found", message: "no subscription has this token") }
}

/// A one-button form on a page: where it posts, an optional hidden field, the button's words.
struct PageForm: Sendable {
    var action: String
    var field: String? = nil
    var value: String? = nil
    var button: String

    /// The form as bare HTML, everything escaped.
    var html: String {
        let hidden = field.map { "<input type=\"hidden\" name=\"\(HTML.escape($0))\" value=\"\(HTML.escape(value ?? ""))\">" } ?? ""
        return
            "<form method=\"post\" action=\"\(HTML.escape(action))\">\(hidden)<button type=\"submit\">\(HTML.escape(button))</button></form>"
    }
}
