import EventManagerCore
import HTTPTypes
import Hummingbird
import Logging

/// The limiters, one per class, built once from the settings.
public final class RateLimiters: Sendable {
    public let settings: RateLimitSettings
    let read: any RateLimiting
    let write: any RateLimiting
    let subscribe: any RateLimiting
    let perEmail: any RateLimiting
    let perEvent: any RateLimiting
    let logger: Logger
    /// Each class's `RateLimit-Policy` value: it only changes with the settings.
    let policies: [String: String]

    /// - Parameter make: builds the limiter of one class from its name and limits; in memory by
    ///   default, `SQLRateLimiter` when several nodes must share the budget.
    public init(
        settings: RateLimitSettings, logger: Logger = Logger(label: "rate-limit"),
        make: (String, [RateLimit]) -> any RateLimiting = { RateLimiter(limits: $1) }
    ) {
        self.settings = settings
        self.logger = logger
        read = make("read", settings.read)
        write = make("write", settings.write)
        subscribe = make("subscribe", settings.subscribe)
        perEmail = make("email", settings.subscribePerEmail)
        perEvent = make("event", settings.subscribePerEvent)
        var policies: [String: String] = [:]
        for (name, limiter) in [("read", read), ("write", write), ("subscribe", subscribe), ("email", perEmail), ("event", perEvent)] {
            policies[name] = RateLimitMiddleware.policy(name, limiter.limits)
        }
        self.policies = policies
    }

    /// Checks one key; a limiter that cannot answer (its database is down) lets the request
    /// through, because refusing every client for an outage of the limiter is worse.
    func check(_ limiter: any RateLimiting, _ key: String, now: Timestamp) async -> RateLimitDecision {
        do {
            return try await limiter.check(key, now: now)
        } catch {
            logger.warning("rate limiter unavailable; request allowed", metadata: ["error": .string(String(reflecting: error))])
            return RateLimitDecision(
                allowed: true, tightest: limiter.limits[0], remaining: limiter.limits[0].count, resetSeconds: 0, retryAfterSeconds: 0)
        }
    }
}

/// Limits each client by class (read, write, subscribe), answering 429 with `Retry-After` when a
/// limit is spent, and describing the limits on every answer with the IETF `RateLimit-Policy`
/// and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers).
///
/// It runs twice. Before authentication, anonymous requests are counted by address, and a
/// request with a key is only asked whether its address is already refused: then it gets 429
/// without costing a database query, and a key that turns out bad is counted against the
/// address, so guessing keys spends the same budget as any other traffic. After
/// authentication, requests with a good key are counted against their account.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    enum Stage { case beforeAuthentication, afterAuthentication }

    let limiters: RateLimiters
    let clock: any WallClock
    let stage: Stage
    /// Pages show refusals as pages.
    var templates: PageTemplates? = nil

    /// The JSON answer to `error`, or on a page path the same as a page.
    private func respond(_ error: AppError, _ request: Request, _ context: Context) throws -> Response {
        let response = try error.response(from: request, context: context)
        guard let templates, PageController.isPage(request.uri.path) else { return response }
        return ErrorMiddleware.page(for: error, answer: response, templates: templates)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard limiters.settings.enabled, path != "/health", path != "/ready", path != "/metrics" else {
            return try await next(request, context)
        }
        let (name, limiter) = classify(request.method, path)
        switch stage {
        case .afterAuthentication:
            guard let principal = context.principal else { return try await next(request, context) }
            let decision = await limiters.check(limiter, "account \(principal.accountID)", now: clock.now())
            return try await answer(decision, name, limiter, scope: "\(name) requests from this account", request, context, next)
        case .beforeAuthentication:
            let address = ClientAddress.resolve(
                peer: context.peerAddress, forwardedFor: request.headers[.xForwardedFor], trustedProxies: limiters.settings.trustedProxies)
            // Only a refusal names it.
            var scope: String { "\(name) requests from \(address)" }
            guard request.headers[.authorization] != nil else {
                let decision = await limiters.check(limiter, address, now: clock.now())
                return try await answer(decision, name, limiter, scope: scope, request, context, next)
            }
            if let refusal = limiter.knownRefusal(address, now: clock.now()) {
                return try await answer(refusal, name, limiter, scope: scope, request, context, next)
            }
            do {
                return try await next(request, context)
            } catch let error as AppError where error.kind == .unauthorized {
                let decision = await limiters.check(limiter, address, now: clock.now())
                var response = try respond(decision.allowed ? error : AppError.rateLimited(decision, scope: scope), request, context)
                describe(name, limiter: limiter, decision: decision, in: &response.headers)
                return response
            }
        }
    }

    /// Runs the request when `decision` allows it, else answers 429; either way with the limit's headers.
    private func answer(
        _ decision: RateLimitDecision, _ name: String, _ limiter: any RateLimiting, scope: @autoclosure () -> String, _ request: Request,
        _ context: Context,
        _ next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response: Response
        if decision.allowed {
            do {
                response = try await next(request, context)
            } catch let error as AppError {
                response = try respond(error, request, context)
            }
        } else {
            response = try respond(AppError.rateLimited(decision, scope: scope()), request, context)
        }
        describe(name, limiter: limiter, decision: decision, in: &response.headers)
        return response
    }

    func classify(_ method: HTTPRequest.Method, _ path: String) -> (String, any RateLimiting) {
        if method == .get || method == .head { return ("read", limiters.read) }
        if method == .post && (path == "/subscribe" || (path.hasPrefix("/events/") && path.hasSuffix("/subscriptions"))) {
            return ("subscribe", limiters.subscribe)
        }
        return ("write", limiters.write)
    }

    /// `RateLimit-Policy: "write-60";q=300;w=60, "write-86400";q=10000;w=86400` and
    /// `RateLimit: "write-60";r=299;t=1` for the limit closest to running out.
    static func describe(_ name: String, limiter: any RateLimiting, decision: RateLimitDecision, in headers: inout HTTPFields) {
        describe(name, policy: policy(name, limiter.limits), decision: decision, in: &headers)
    }

    /// As `describe(_:limiter:decision:in:)`, with the policy written once per class.
    private func describe(_ name: String, limiter: any RateLimiting, decision: RateLimitDecision, in headers: inout HTTPFields) {
        Self.describe(name, policy: limiters.policies[name] ?? Self.policy(name, limiter.limits), decision: decision, in: &headers)
    }

    private static func describe(_ name: String, policy: String, decision: RateLimitDecision, in headers: inout HTTPFields) {
        headers[.rateLimitPolicy] = policy
        headers[.rateLimit] = "\"\(name)-\(decision.tightest.windowSeconds)\";r=\(decision.remaining);t=\(decision.resetSeconds)"
    }

    /// The `RateLimit-Policy` value of a class's limits.
    static func policy(_ name: String, _ limits: [RateLimit]) -> String {
        limits.map { "\"\(name)-\($0.windowSeconds)\";q=\($0.count);w=\($0.windowSeconds)" }.joined(separator: ", ")
    }
}

/// A 429 from a limit other than the request's class (one inbox, one event), describing that limit.
struct RateLimitRefusal: HTTPResponseError {
    let name: String
    let limiter: any RateLimiting
    let decision: RateLimitDecision
    let scope: String

    var status: HTTPResponse.Status { .tooManyRequests }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try AppError.rateLimited(decision, scope: scope).response(from: request, context: context)
        RateLimitMiddleware.describe(name, limiter: limiter, decision: decision, in: &response.headers)
        return response
    }
}

extension AppError {
    static func rateLimited(_ decision: RateLimitDecision, scope: String) -> AppError {
        var error = AppError(
            .tooManyRequests, code: "rate_limited",
            message: "too many \(scope): the limit is \(decision.tightest); retry in \(decision.retryAfterSeconds) s"
        )
        error.retryAfterSeconds = decision.retryAfterSeconds
        return error
    }
}

extension HTTPField.Name {
    static let rateLimit = HTTPField.Name("RateLimit")!
    static let rateLimitPolicy = HTTPField.Name("RateLimit-Policy")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
