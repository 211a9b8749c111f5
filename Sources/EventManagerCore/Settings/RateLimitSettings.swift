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
