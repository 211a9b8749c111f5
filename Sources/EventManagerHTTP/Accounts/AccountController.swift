import EventManagerCore
import Hummingbird

/// Accounts and API keys over HTTP, for admins.
struct AccountController: Sendable {
    let store: any AccountRepository
    let access: Access
    let clock: any WallClock
    let limits: APILimits

    func addRoutes(to routes: RouteTable) {
        routes.add(.post, "/accounts") { request, context in
            try access.requireAdmin(context)
            let body = try await RequestInput.json(request, limit: limits.maxBodyBytes)
            let (name, role) = try Self.validate(body)
            let account = try await store.createAccount(name: name, role: role, now: clock.now())
            var response = Response.json(status: .created) { $0.account(account) }
            response.headers[.location] = "/accounts/\(account.id)"
            return response
        }
        routes.add(.get, "/accounts") { _, context in
            try access.requireAdmin(context)
            let accounts = try await store.accounts()
            return Response.json { writer in writer.array(accounts) { $0.account($1) } }
        }
        routes.add(.post, "/accounts/:id/keys") { _, context in
            try access.requireAdmin(context)
            let raw = context.parameters.get("id") ?? ""
            guard let id = Int64(raw), let account = try await store.account(id: id) else {
                throw AppError(.notFound, code: "account_not_found", message: "no account with id '\(raw.prefix(40))'")
            }
            let (record, token) = try await store.createKey(accountID: account.id, now: clock.now())
            return Response.json(status: .created) { writer in
                writer.raw("{\"id\":")
                writer.integer(record.id)
                writer.raw(",\"account_id\":")
                writer.integer(record.accountID)
                writer.raw(",\"key\":")
                writer.string(token.text)
                writer.raw(",\"prefix\":")
                writer.string(record.prefix)
                writer.raw(",\"created_at\":")
                writer.string(record.createdAt.rfc3339)
                writer.raw("}")
            }
        }
        routes.add(.delete, "/keys/:id") { _, context in
            try access.requireAdmin(context)
            let raw = context.parameters.get("id") ?? ""
            guard let id = Int64(raw), try await store.revokeKey(id: id, now: clock.now()) else {
                throw AppError(.notFound, code: "key_not_found", message: "no key with id '\(raw.prefix(40))'")
            }
            return Response(status: .noContent)
        }
    }

    static func validate(_ body: JSONValue) throws -> (String, Role) {
        guard case .object(let object) = body else {
            throw AppError.validation([FieldError(field: "body", code: "invalid_type", message: "expected a JSON object")])
        }
        var errors: [FieldError] = []
        for key in object.keys.sorted() where key != "name" && key != "role" {
            errors.append(FieldError(field: key, code: "unknown_field", message: "unknown field '\(key)'; allowed: name, role"))
        }
        var name: String?
        if case .string(let raw)? = object["name"] {
            switch AccountName.validate(raw) {
            case .success(let valid): name = valid
            case .failure(let error): errors.append(error)
            }
        } else {
            errors.append(FieldError(field: "name", code: "required", message: "name is required (a string)"))
        }
        var role: Role?
        if case .string(let raw)? = object["role"], let parsed = Role(rawValue: raw) {
            role = parsed
        } else {
            errors.append(FieldError(field: "role", code: "invalid_role", message: "role is required: admin or organizer"))
        }
        guard errors.isEmpty, let name, let role else { throw AppError.validation(errors) }
        return (name, role)
    }
}

extension JSONWriter {
    mutating func account(_ account: Account) {
        raw("{\"id\":")
        integer(account.id)
        raw(",\"name\":")
        string(account.name)
        raw(",\"role\":")
        string(account.role.rawValue)
        raw(",\"created_at\":")
        string(account.createdAt.rfc3339)
        raw("}")
    }
}
