import HTTPTypes
import Hummingbird
import Logging

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

/// The limiters, one per class, built once from the settings.
public final class RateLimiters: Sendable {
    public let settings: RateLimitSettings
    let read: any RateLimiting
    let write: any RateLimiting
    let subscribe: any RateLimiting
    let perEmail: any RateLimiting
    let perEvent: any RateLimiting
    let logger: Logger

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
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limiters: RateLimiters
    let clock: any WallClock

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard limiters.settings.enabled, path != "/health", path != "/ready", path != "/metrics" else {
            return try await next(request, context)
        }
        let (name, limiter) = classify(request.method, path)
        // Callers with a key are limited as their account, anonymous ones by address.
        let client =
            context.principal.map { "account \($0.accountID)" }
            ?? ClientAddress.resolve(
                peer: context.peerAddress, forwardedFor: request.headers[.xForwardedFor], trustedProxies: limiters.settings.trustedProxies
            )
        let decision = await limiters.check(limiter, client, now: clock.now())
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
