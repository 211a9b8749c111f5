/// When a webhook message is tried again, and when it is given up.
///
/// The schedule Standard Webhooks recommends (5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h),
/// for up to three days after the message was written, as pretix keeps trying. A receiver that
/// is down for a deploy gets its messages within seconds of coming back; one that is down for a
/// weekend still gets them; one that never comes back stops costing anything after three days.
public struct WebhookRetryPlan: Sendable, Equatable {
    /// Delays after the first, second, ... failed attempt; the last repeats.
    public var delaysMilliseconds: [Int64]
    /// How long after its creation a message is still tried.
    public var giveUpAfterMilliseconds: Int64

    public init(
        delaysMilliseconds: [Int64] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000],
        giveUpAfterMilliseconds: Int64 = 3 * 86_400_000
    ) {
        self.delaysMilliseconds = delaysMilliseconds
        self.giveUpAfterMilliseconds = giveUpAfterMilliseconds
    }

    /// What follows a failed attempt.
    public enum Decision: Sendable, Equatable {
        case retry(at: Timestamp)
        case giveUp
    }

    /// After the `attempts`-th failed attempt of a message created at `createdAt`.
    public func afterFailure(attempts: Int, createdAt: Timestamp, now: Timestamp) -> Decision {
        guard let last = delaysMilliseconds.last else { return .giveUp }
        let delay = attempts >= 1 && attempts <= delaysMilliseconds.count ? delaysMilliseconds[attempts - 1] : last
        let next = now.adding(milliseconds: delay)
        return next.millisecondsSinceEpoch - createdAt.millisecondsSinceEpoch > giveUpAfterMilliseconds ? .giveUp : .retry(at: next)
    }
}

/// What one attempt to deliver a message came to, as the worker saw it.
public enum WebhookAttemptResult: Sendable, Equatable {
    /// The endpoint answered (any status); `latencyMilliseconds` from connecting to the answer.
    case answered(status: Int, latencyMilliseconds: Int64)
    /// No answer: refused, unreachable, timed out, a refused address or a broken reply.
    case failed(reason: String, latencyMilliseconds: Int64)

    /// What the message's log shows for this attempt.
    public var summary: String {
        switch self {
        case .answered(let status, _): "HTTP \(status)"
        case .failed(let reason, _): reason
        }
    }
}

/// What becomes of a message and its endpoint after an attempt: the rule, kept apart from the
/// storage that carries it out.
public enum WebhookOutcome: Sendable, Equatable {
    case delivered(at: Timestamp)
    case retry(at: Timestamp)
    /// The message is given up; `disableEndpoint` carries the reason when the endpoint goes too.
    case failed(disableEndpoint: String?)

    /// 2xx delivers. 410 Gone means the receiver wants no more: message failed, endpoint
    /// disabled. Anything else (redirects included: they are not followed) is retried until the
    /// plan gives up, which disables the endpoint as persistently failing.
    public static func decide(
        _ result: WebhookAttemptResult, attempts: Int, createdAt: Timestamp, now: Timestamp, plan: WebhookRetryPlan
    ) -> WebhookOutcome {
        if case .answered(let status, _) = result {
            if (200...299).contains(status) { return .delivered(at: now) }
            if status == 410 { return .failed(disableEndpoint: "the endpoint answered 410 Gone") }
        }
        switch plan.afterFailure(attempts: attempts, createdAt: createdAt, now: now) {
        case .retry(let at): return .retry(at: at)
        case .giveUp:
            let days = plan.giveUpAfterMilliseconds / 86_400_000
            return .failed(disableEndpoint: "no successful delivery for \(days) days")
        }
    }
}
