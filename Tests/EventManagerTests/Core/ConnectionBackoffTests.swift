import Testing

@testable import EventManagerCore

/// The outage rule: an unreachable server defers the whole worker, 1 s doubling to a minute,
/// and one accepted message ends the outage.
@Suite struct ConnectionBackoffTests {
    @Test func doublesUpToAMinuteAndResetsOnSuccess() {
        var backoff = ConnectionBackoff()
        let start = Timestamp(millisecondsSinceEpoch: 1_000_000)
        var waits: [Int64] = []
        var now = start
        for _ in 0..<9 {
            let until = backoff.failed(at: now)
            waits.append(until.millisecondsSinceEpoch - now.millisecondsSinceEpoch)
            now = until
        }
        #expect(waits == [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000])
        #expect(backoff.remaining(at: now.adding(milliseconds: -500)) == 500)
        #expect(backoff.remaining(at: now.adding(milliseconds: 1)) == 0)
        backoff.succeeded()
        #expect(backoff.consecutiveFailures == 0)
        #expect(backoff.remaining(at: start) == 0)
        #expect(backoff.failed(at: start) == start.adding(milliseconds: 1000), "a new outage starts from a second again")
    }

    @Test func jitterOnlyShortensTheWait() {
        var backoff = ConnectionBackoff()
        let now = Timestamp(millisecondsSinceEpoch: 0)
        let until = backoff.failed(at: now, jitter: 1)
        #expect((500...1000).contains(until.millisecondsSinceEpoch))
    }
}
