/// How long a worker waits before trying a mail server that could not be reached again.
///
/// An outage is the server's fault, not the messages': the messages it held up keep their
/// attempts and are deferred as a whole by this delay, which doubles with every failure in a row
/// (1 s, 2 s, 4 s ... up to a minute) and resets after a message is accepted. So a long outage
/// never turns into "failed" reminders, and a server coming back is found within a minute.
public struct ConnectionBackoff: Sendable, Equatable {
    public private(set) var consecutiveFailures = 0
    public var policy = RetryPolicy(maxAttempts: .max, baseDelayMilliseconds: 1000, maxDelayMilliseconds: 60_000)
    /// Until when nothing should be sent; nil when the server is believed up.
    public private(set) var until: Timestamp?

    public init() {}

    /// Notes a failure to reach the server at `now`; returns the time to try again.
    @discardableResult
    public mutating func failed(at now: Timestamp, jitter: Double = 0) -> Timestamp {
        consecutiveFailures += 1
        let next = now.adding(milliseconds: policy.delay(afterAttempt: consecutiveFailures, jitter: jitter))
        until = next
        return next
    }

    /// Notes that the server accepted a message: the outage is over.
    public mutating func succeeded() {
        consecutiveFailures = 0
        until = nil
    }

    /// Milliseconds still to wait at `now` (0 when sending may go on).
    public func remaining(at now: Timestamp) -> Int64 {
        guard let until else { return 0 }
        return max(0, until.millisecondsSinceEpoch - now.millisecondsSinceEpoch)
    }
}
