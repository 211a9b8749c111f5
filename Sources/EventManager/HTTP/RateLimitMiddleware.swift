import HTTPTypes
import Hummingbird

/// The limits of `rate_limit.*`, one limiter per class.
public struct RateLimitSettings: Sendable {
    public var enabled = true
    public var read = [RateLimit("1200 per minute")!]
    public var write = [RateLimit("300 per minute")!, RateLimit("10000 per day")!]
    public var subscribe = [RateLimit("30 per minute")!, RateLimit("500 per day")!]
    public var subscribePerEmail = [RateLimit("5 per hour")!]
    public var subscribePerEvent = [RateLimit("2000 per hour")!]
    public var trustedProxies: Set<String> = []

    public init() {}

    public static var disabled: RateLimitSettings {
        var settings = RateLimitSettings()
        settings.enabled = false
        return settings
    }
}

/// The limiters of one process, built once from the settings.
public final class RateLimiters: Sendable {
    public let settings: RateLimitSettings
    let read: RateLimiter
    let write: RateLimiter
    let subscribe: RateLimiter
    let perEmail: RateLimiter
    let perEvent: RateLimiter

    public init(settings: RateLimitSettings) {
        self.settings = settings
        read = RateLimiter(limits: settings.read)
        write = RateLimiter(limits: settings.write)
        subscribe = RateLimiter(limits: settings.subscribe)
        perEmail = RateLimiter(limits: settings.subscribePerEmail)
        perEvent = RateLimiter(limits: settings.subscribePerEvent)
    }
}

/// Limits each client by class (read, write, subscribe), answering 429 with `Retry-After` when a
/// limit is spent, and describing the limits on every answer with the IETF `RateLimit-Policy`
/// and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers).
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limiters: RateLimiters
    let clock: any WallClock

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard limiters.settings.enabled, path != "/health", path != "/ready" else { return try await next(request, context) }
        let (name, limiter) = classify(request.method, path)
        // Callers with a key are limited as their account, anonymous ones by address.
        let client =
            context.principal.map { "account \($0.accountID)" }
            ?? ClientAddress.resolve(
                peer: context.peerAddress, forwardedFor: request.headers[.xForwardedFor], trustedProxies: limiters.settings.trustedProxies
            )
        let decision = limiter.check(client, now: clock.now())
        var response: Response
        if decision.allowed {
            do {
                response = try await next(request, context)
            } catch let error as AppError {
                response = try error.response(from: request, context: context)
            }
        } else {
            response = try AppError.rateLimited(decision, scope: "\(name) requests from \(client)").response(
                from: request, context: context)
        }
        Self.describe(name, limiter: limiter, decision: decision, in: &response.headers)
        return response
    }

    func classify(_ method: HTTPRequest.Method, _ path: String) -> (String, RateLimiter) {
        if method == .get || method == .head { return ("read", limiters.read) }
        if method == .post && (path == "/subscribe" || (path.hasPrefix("/events/") && path.hasSuffix("/subscriptions"))) {
            return ("subscribe", limiters.subscribe)
        }
        return ("write", limiters.write)
    }

    /// `RateLimit-Policy: "write-60";q=300;w=60, "write-86400";q=10000;w=86400` and
    /// `RateLimit: "write-60";r=299;t=1` for the limit closest to running out.
    static func describe(_ name: String, limiter: RateLimiter, decision: RateLimitDecision, in headers: inout HTTPFields) {
        headers[.rateLimitPolicy] = limiter.limits.map { "\"\(name)-\($0.windowSeconds)\";q=\($0.count);w=\($0.windowSeconds)" }
            .joined(separator: ", ")
        headers[.rateLimit] = "\"\(name)-\(decision.tightest.windowSeconds)\";r=\(decision.remaining);t=\(decision.resetSeconds)"
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
