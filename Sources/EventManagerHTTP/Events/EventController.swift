import EventManagerCore
import Hummingbird
import NIOCore

/// The events API: canonical routes and the Flask seed's forms, served by the same handlers.
struct EventController: Sendable {
    let repository: any EventRepository
    let clock: any WallClock
    let limits: APILimits
    let access: Access
    /// Called after an update or delete commits: either may have rescheduled or queued mail.
    let queueChanged: @Sendable () -> Void
    /// Rendered list pages, reused while the events stay the same.
    let pages = ListPageCache()
    /// Rendered single events, reused while their revision stays the same.
    let renderedEvents = RenderedEventCache()

    func addRoutes(to routes: RouteTable) {
        routes.add(.post, "/events") { request, context in try await create(request, context) }
        routes.add(.get, "/events") { request, _ in try await list(request, fixedSort: nil) }
        routes.add(.put, "/events") { request, context in try await replaceSeedForm(request, context) }
        routes.add(.delete, "/events") { request, context in try await deleteSeedForm(request, context) }
        routes.add(.get, "/events/:id") { request, context in try await show(request, RequestInput.eventID(context)) }
        routes.add(.put, "/events/:id") { request, context in try await replace(request, context, id: RequestInput.eventID(context)) }
        routes.add(.patch, "/events/:id") { request, context in try await patch(request, context, id: RequestInput.eventID(context)) }
        routes.add(.delete, "/events/:id") { request, context in try await delete(request, context, id: RequestInput.eventID(context)) }
        routes.add(.get, "/sort_by/:field") { request, context in try await sortBy(request, field: context.parameters.get("field") ?? "") }
        routes.add(.post, "/bulk_events") { request, context in try await bulkCreate(request, context) }
        routes.add(.delete, "/bulk_events") { request, context in try await bulkDelete(request, context) }
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let writer = try access.writer(context)
        let body = try await RequestInput.json(request, limit: limits.maxBodyBytes)
        let draft = try EventDraft.validate(body).get()
        IdempotentWrite.current?.renders { (events: [Event]) in Self.eventAnswer(events[0], status: .created) }
        let event = try await repository.create([draft], owner: writer?.accountID, now: clock.now())[0]
        return Response(Self.eventAnswer(event, status: .created))
    }

    func show(_ request: Request, _ id: Int64) async throws -> Response {
        guard let event = try await repository.find(id: id) else { throw AppError.eventNotFound(id) }
        let rendered = renderedEvents.rendered(event)
        if request.headers[.ifNoneMatch] != nil || request.headers[.ifModifiedSince] != nil,
            Conditions(request).notModified(tag: rendered.tag, lastModified: event.updatedAt)
        {
            return .notModified(tag: rendered.tag, lastModified: event.updatedAt)
        }
        return Response(status: .ok, headers: rendered.headers, body: .init(byteBuffer: rendered.body))
    }

    /// The answer to a write of an event, as it is sent and kept for an idempotent retry: the
    /// event with its validators, and where a new one is.
    static func eventAnswer(_ event: Event, status: HTTPResponse.Status = .ok) -> StoredResponse {
        var headers = [(name: "ETag", value: EntityTag.event(event)), (name: "Last-Modified", value: CivilTime(event.updatedAt).httpDate)]
        if status == .created { headers.append((name: "Location", value: "/events/\(event.id)")) }
        return .json(status: status, headers: headers) { $0.event(event) }
    }

    func list(_ request: Request, fixedSort: EventSort?) async throws -> Response {
        // A kept page was rendered for this very path and query, which parsed then, so it is
        // looked up first: parsing the query again was a tenth of the seed form's CPU.
        let key = request.uri.description
        let version = try await repository.currentVersion()
        let conditions = Conditions(request)
        if let version, let page = pages.page(key, version: version) {
            return Self.listResponse(page.body, tag: page.tag, link: page.link, conditions: conditions)
        }
        let parameters = try RequestInput.query(request)
        let query = try EventListQuery.parse(parameters, fixedSort: fixedSort)
        var events: [Event]
        if let id = query.filter.onlyID, query.after == nil {
            // Zero or one event, whatever the order: the same lookup `GET /events/{id}` makes.
            events = try await repository.find(id: id).map { [$0] } ?? []
        } else {
            events = try await repository.list(query)
        }
        var next: EventCursor?
        if events.count > query.limit {
            events.removeLast(events.count - query.limit)
            let last = events[events.count - 1]
            next = EventCursor(sort: query.sort, key: query.sort.key(of: last), id: last.id)
        }
        var writer = JSONWriter(capacity: 16 + events.count * 256)
        writer.events(events)
        let body = ByteBuffer(bytes: writer.bytes)
        var link: String?
        if let next {
            link = RequestInput.nextLink(path: request.uri.path, parameters, cursor: next.encoded)
        }
        let tag = EntityTag.body(body)
        // A single node's count moves after a commit, so it is checked again; a shared database's
        // was read before the events were, which is enough (see `currentVersion()`).
        if let version {
            pages.store(key, .init(version: version, body: body, tag: tag, link: link), current: repository.version ?? version)
        }
        return Self.listResponse(body, tag: tag, link: link, conditions: conditions)
    }

    /// A page of events, tagged with a hash of its bytes; 304 when the client holds that page.
    private static func listResponse(_ body: ByteBuffer, tag: String, link: String?, conditions: Conditions) -> Response {
        var response =
            conditions.notModified(tag: tag, lastModified: nil)
            ? .notModified(tag: tag, lastModified: nil)
            : Response(status: .ok, headers: Response.jsonHeaders, body: .init(byteBuffer: body))
        response.headers[.eTag] = tag
        if let link { response.headers[.link] = link }
        return response
    }

    func sortBy(_ request: Request, field: String) async throws -> Response {
        guard let sortField = EventSortField(rawValue: field) else {
            let valid = EventSortField.allCases.map(\.rawValue)
            throw AppError(
                .badRequest, code: "invalid_sort_field",
                message: "cannot sort by '\(field.prefix(64))'; valid fields: \(valid.joined(separator: ", "))",
                details: .validValues(valid)
            )
        }
        return try await list(request, fixedSort: EventSort(field: sortField, descending: true))
    }

    func replace(_ request: Request, _ context: AppRequestContext, id: Int64) async throws -> Response {
        let writer = try access.writer(context)
        let body = try await RequestInput.json(request, limit: limits.maxBodyBytes)
        return try await update(id: id, by: writer, Conditions(request)) { existing in
            try EventDraft.validate(body, existing: existing).get()
        }
    }

    func patch(_ request: Request, _ context: AppRequestContext, id: Int64) async throws -> Response {
        let writer = try access.writer(context)
        let body = try await RequestInput.json(request, limit: limits.maxBodyBytes, also: ["application/merge-patch+json"])
        return try await update(id: id, by: writer, Conditions(request)) { existing in
            try EventDraft.validatePatch(body, existing: existing).get()
        }
    }

    /// `PUT /events?id=N` or `PUT /events` with the id in the body, as the seed's clients send it.
    func replaceSeedForm(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let writer = try access.writer(context)
        let parameters = try RequestInput.query(request)
        let queryID = try Self.seedID(parameters)
        let body = try await RequestInput.json(request, limit: limits.maxBodyBytes)
        var id = queryID
        if id == nil, case .object(let object) = body {
            switch object["id"] {
            case .integer(let value)?: id = value
            case nil: break
            case let other?:
                throw AppError.validation([
                    FieldError(field: "id", code: "invalid_type", message: "expected an integer, got \(other.typeName)")
                ])
            }
        }
        guard let id else {
            throw AppError.validation([
                FieldError(field: "id", code: "required", message: "give the event id as ?id=N or as \"id\" in the body")
            ])
        }
        guard id > 0 else { throw AppError.eventNotFound(id) }
        return try await update(id: id, by: writer, Conditions(request)) { existing in
            try EventDraft.validate(body, existing: existing).get()
        }
    }

    func deleteSeedForm(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let id = try Self.seedID(try RequestInput.query(request)) else {
            throw AppError(.badRequest, code: "missing_parameter", message: "query parameter 'id' is required: DELETE /events?id=N")
        }
        return try await delete(request, context, id: id)
    }

    func delete(_ request: Request, _ context: AppRequestContext, id: Int64) async throws -> Response {
        let writer = try access.writer(context)
        let access = self.access
        let conditions = Conditions(request)
        IdempotentWrite.current?.renders { (ids: [Int64]) in ids == [id] ? StoredResponse(status: 204, headers: [], body: []) : nil }
        let deleted = try await repository.delete(ids: [id], now: clock.now()) { event in
            try access.checkChange(event, by: writer)
            try conditions.checkMatch(tag: EntityTag.event(event), of: "event \(event.id)")
        }
        guard deleted == [id] else {
            throw AppError.eventNotFound(id)
        }
        queueChanged()
        return Response(status: .noContent)
    }

    /// Stores the draft `change` makes of the stored event and answers with the result.
    ///
    /// `If-Match` is checked inside the transaction that holds the row, so of two clients that
    /// read the same revision only the first to commit succeeds; the other gets 412.
    private func update(
        id: Int64, by writer: Principal?, _ conditions: Conditions, change: @escaping @Sendable (Event) throws -> EventDraft
    ) async throws -> Response {
        let access = self.access
        IdempotentWrite.current?.renders { (event: Event) in Self.eventAnswer(event) }
        let event = try await repository.update(id: id, now: clock.now()) { existing in
            try access.checkChange(existing, by: writer)
            try conditions.checkMatch(tag: EntityTag.event(existing), of: "event \(id)")
            return try change(existing)
        }
        queueChanged()
        return Response(Self.eventAnswer(event))
    }

    func bulkCreate(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let writer = try access.writer(context)
        let body = try await RequestInput.json(request, limit: limits.maxBodyBytes)
        let items = try bulkItems(body)
        var drafts: [EventDraft] = []
        var failures: [AppError.ItemErrors] = []
        for (index, item) in items.enumerated() {
            switch EventDraft.validate(item, prefix: "[\(index)].") {
            case .success(let draft): drafts.append(draft)
            case .failure(let error):
                if case .fields(let errors)? = error.details { failures.append(.init(index: index, errors: errors)) }
            }
        }
        guard failures.isEmpty else {
            throw AppError(
                .validation, code: "validation_failed",
                message:
                    "\(failures.count) of \(items.count) events are invalid (indexes \(failures.map { String($0.index) }.joined(separator: ", "))); nothing was created",
                details: .items(failures)
            )
        }
        let answer: @Sendable ([Event]) -> StoredResponse = { events in
            .json(status: .created, capacity: 64 + events.count * 256) { writer in writer.events(events) }
        }
        IdempotentWrite.current?.renders(answer)
        return Response(answer(try await repository.create(drafts, owner: writer?.accountID, now: clock.now())))
    }

    func bulkDelete(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let writer = try access.writer(context)
        let access = self.access
        let body = try await RequestInput.json(request, limit: limits.maxBodyBytes)
        let items = try bulkItems(body)
        var ids: [Int64] = []
        var errors: [FieldError] = []
        for (index, item) in items.enumerated() {
            if case .integer(let id) = item, id > 0 {
                if !ids.contains(id) { ids.append(id) }
            } else {
                errors.append(
                    FieldError(field: "[\(index)]", code: "invalid_type", message: "expected a positive integer id, got \(item.typeName)"))
            }
        }
        guard errors.isEmpty else { throw AppError.validation(errors) }
        let deleted = Set(try await repository.delete(ids: ids, now: clock.now(), authorize: { try access.checkChange($0, by: writer) }))
        queueChanged()
        return Response.json { writer in
            writer.raw("{\"deleted_ids\":")
            writer.array(ids.filter { deleted.contains($0) }) { $0.integer($1) }
            writer.raw(",\"not_found\":")
            writer.array(ids.filter { !deleted.contains($0) }) { $0.integer($1) }
            writer.raw("}")
        }
    }

    private func bulkItems(_ body: JSONValue) throws -> [JSONValue] {
        guard case .array(let items) = body else {
            throw AppError.validation([
                FieldError(field: "body", code: "invalid_type", message: "expected a JSON array, got \(body.typeName)")
            ])
        }
        guard !items.isEmpty, items.count <= limits.bulkMaxItems else {
            throw AppError.validation([
                FieldError(field: "body", code: "invalid_length", message: "expected 1 to \(limits.bulkMaxItems) items, got \(items.count)")
            ])
        }
        return items
    }

    private static func seedID(_ parameters: [(String, String)]) throws -> Int64? {
        var id: Int64?
        for (name, value) in parameters {
            guard name == "id", id == nil else {
                throw AppError(
                    .badRequest, code: "unknown_parameter",
                    message: "unexpected query parameter '\(name.prefix(64))'; only 'id' is accepted here")
            }
            guard let parsed = Int64(value) else { throw AppError.badParameter("id", value, expected: "an integer") }
            id = parsed
        }
        return id
    }
}
