import EventManagerCore
import HTTPTypes
import Hummingbird

/// Reads `Authorization: Bearer <key>` and records the caller in the context.
///
/// A request without the header stays anonymous (reads and subscribing are public); a header
/// with a missing, unknown or revoked key is refused with 401, without saying which.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: any KeyAuthenticator
    let clock: any WallClock

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
            let principal = try await authenticator.authenticate(String(parts[1]).trimmingWhitespace(), now: clock.now())
        else { throw AppError.invalidKey }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}

/// The rules of who may do what.
struct Access: Sendable {
    let mode: AuthMode

    /// The caller of a write; nil when authentication is disabled (then anything goes).
    /// - Throws: 401 when a key is required and none was sent.
    func writer(_ context: AppRequestContext) throws -> Principal? {
        guard mode == .required else { return context.principal }
        guard let principal = context.principal else { throw AppError.missingKey }
        return principal
    }

    /// - Throws: 403 unless the caller may change `event`.
    func checkChange(_ event: Event, by principal: Principal?) throws {
        guard mode == .required, let principal else { return }
        guard principal.mayChange(eventOwnedBy: event.ownerAccountID) else {
            throw AppError(
                .forbidden, code: "not_owner",
                message: "event \(event.id) belongs to another account; only its owner or an admin may change it")
        }
    }

    /// - Throws: 401 without a key, 403 unless the caller is an admin.
    func requireAdmin(_ context: AppRequestContext) throws {
        guard let principal = try writer(context) else { return }
        guard principal.role == .admin else {
            throw AppError(.forbidden, code: "admin_only", message: "only admins may manage accounts and keys")
        }
    }
}

extension AppError {
    static let missingKey = AppError(.unauthorized, code: "unauthorized", message: "this needs an API key: Authorization: Bearer em_...")
    static let invalidKey = AppError(.unauthorized, code: "unauthorized", message: "the API key is missing, unknown or revoked")
}
