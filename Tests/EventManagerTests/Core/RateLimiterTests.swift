import Testing

@testable import EventManagerCore
@testable import EventManagerHTTP

@Suite(.resources) struct RateLimiterTests {
    let start = Timestamp(millisecondsSinceEpoch: 1_900_000_000_000)

    @Test func parsesLimits() {
        #expect(RateLimit("300 per minute") == RateLimit(count: 300, periodMilliseconds: 60_000))
        #expect(RateLimit("5 per hours") == RateLimit(count: 5, periodMilliseconds: 3_600_000))
        for bad in ["", "300", "300 per fortnight", "0 per minute", "-1 per day", "ten per day", "300 each minute"] {
            #expect(RateLimit(bad) == nil, "\(bad)")
        }
    }

    @Test func tripsAtTheCountAndRecoversWithTime() {
        let limiter = RateLimiter(limits: [RateLimit("3 per minute")!])
        for index in 0..<3 {
            let decision = limiter.check("a", now: start)
            #expect(decision.allowed)
            #expect(decision.remaining == 2 - index)
        }
        let refused = limiter.check("a", now: start)
        #expect(!refused.allowed)
        #expect(refused.retryAfterSeconds == 20)
        #expect(limiter.check("b", now: start).allowed, "keys are independent")
        #expect(!limiter.check("a", now: start.adding(milliseconds: 19_999)).allowed)
        #expect(limiter.check("a", now: start.adding(milliseconds: 20_000)).allowed)
        #expect(limiter.check("a", now: start.adding(milliseconds: 80_000)).remaining == 2, "a whole window later the quota is back")
    }

    /// A refund gives back exactly the request counted: the next one is allowed, the one after
    /// is not, and a key with nothing counted gains nothing.
    @Test func aRefundGivesBackOneRequest() {
        let limiter = RateLimiter(limits: [RateLimit("2 per second")!, RateLimit("3 per minute")!])
        #expect(limiter.check("a", now: start).allowed)
        #expect(limiter.check("a", now: start).allowed)
        #expect(!limiter.check("a", now: start).allowed)
        limiter.refund("a", now: start)
        #expect(limiter.check("a", now: start).allowed)
        #expect(!limiter.check("a", now: start).allowed)
        limiter.refund("never", now: start)
        #expect(limiter.check("never", now: start).remaining == 1, "nothing to give back: as fresh as any key")
        let leases = TokenLeases(lifetimeMilliseconds: 1000)
        let roomy = [RateLimit("1000 per minute")!]
        leases.granted(3, for: "k", decision: RateLimiter(limits: roomy).check("k", now: start), limits: roomy, now: start)
        #expect(leases.held("k", now: start) == 2)
        leases.refund("k", now: start.adding(milliseconds: 999))
        #expect(leases.held("k", now: start.adding(milliseconds: 999)) == 3)
        leases.refund("k", now: start.adding(milliseconds: 1000))
        #expect(leases.held("k", now: start.adding(milliseconds: 1000)) == 0, "an expired lease takes nothing back")
    }

    /// A busy key is asked to reserve its next chunk when half of the current one is spent, once
    /// at a time; the chunk reserved ahead keeps its own expiry, so no token outlives its
    /// reservation by more than the lifetime (the bound); a quiet key never reserves ahead.
    @Test func aBusyKeyReservesAheadAndEachChunkExpiresOnItsOwn() {
        let leases = TokenLeases(lifetimeMilliseconds: 1000)
        let limits = [RateLimit("100000 per minute")!]
        let decision = RateLimiter(limits: limits).check("k", now: start)
        leases.granted(8, for: "k", decision: decision, limits: limits, now: start)  // 7 held
        #expect(leases.spend("k", now: start)?.reserveAhead == nil, "6 held: more than half of 8")
        #expect(leases.spend("k", now: start)?.reserveAhead == nil)
        #expect(leases.spend("k", now: start)?.reserveAhead == 12, "4 held: up to twice the chunk, 16, counting those held")
        #expect(leases.spend("k", now: start)?.reserveAhead == nil, "one reservation ahead at a time")
        let later = start.adding(milliseconds: 600)
        leases.grantedAhead(.init(tokens: 12, decision: decision), for: "k", now: later)
        #expect(leases.held("k", now: later) == 15)
        #expect(leases.held("k", now: start.adding(milliseconds: 1000)) == 12, "the first chunk expired on its own time")
        #expect(leases.spend("k", now: start.adding(milliseconds: 1000))?.decision.allowed == true, "the chunk reserved ahead is spent")
        #expect(leases.held("k", now: later.adding(milliseconds: 1000)) == 0, "and expires a lifetime after its reservation")
        // A refused or failed reservation ahead grants nothing and lets the next one start.
        leases.granted(8, for: "r", decision: decision, limits: limits, now: start)
        for _ in 0..<2 { _ = leases.spend("r", now: start) }
        #expect(leases.spend("r", now: start)?.reserveAhead != nil)
        leases.grantedAhead(nil, for: "r", now: start)
        #expect(leases.held("r", now: start) == 4)
        #expect(leases.spend("r", now: start)?.reserveAhead != nil)
        // A key reserving one token at a time never reserves ahead.
        leases.granted(1, for: "quiet", decision: decision, limits: limits, now: start)
        leases.refund("quiet", now: start)
        #expect(leases.spend("quiet", now: start)?.reserveAhead == nil)
    }

    /// A reservation ahead that waited for its turn asks only for the room left: a request that
    /// found the lease dry meanwhile may have reserved a chunk of its own, and tokens beyond the
    /// ceiling would be debited and never spent (two nodes then admitted 117 of a budget of 120).
    @Test func aReservationAheadAsksOnlyForTheRoomLeftWhenItsTurnComes() {
        let leases = TokenLeases(lifetimeMilliseconds: 1000)
        let limits = [RateLimit("160 per minute")!]  // chunks of at most 10
        let decision = RateLimiter(limits: limits).check("k", now: start)
        leases.granted(8, for: "k", decision: decision, limits: limits, now: start)  // 7 held
        for _ in 0..<2 { _ = leases.spend("k", now: start) }
        #expect(leases.spend("k", now: start)?.reserveAhead == 6, "4 held: up to the ceiling of 10")
        #expect(leases.room(for: "k", now: start) == 6)
        for _ in 0..<4 { _ = leases.spend("k", now: start) }
        #expect(leases.spend("k", now: start) == nil, "dry before the reservation ahead had its turn")
        leases.granted(8, for: "k", decision: decision, limits: limits, now: start)  // the request's own: 7 held
        #expect(leases.room(for: "k", now: start) == 3, "what the reservation ahead may still ask for")
        leases.grantedAhead(.init(tokens: 3, decision: decision), for: "k", now: start)
        #expect(leases.held("k", now: start) == 10, "nothing granted was let go")
        #expect(leases.room(for: "unknown", now: start) == 0)
    }

    @Test func everyLimitOfAClassApplies() {
        let limiter = RateLimiter(limits: [RateLimit("2 per second")!, RateLimit("3 per minute")!])
        #expect(limiter.check("a", now: start).allowed)
        #expect(limiter.check("a", now: start).allowed)
        let perSecond = limiter.check("a", now: start)
        #expect(!perSecond.allowed && perSecond.retryAfterSeconds == 1)
        #expect(limiter.check("a", now: start.adding(milliseconds: 1000)).allowed)
        let perMinute = limiter.check("a", now: start.adding(milliseconds: 2000))
        #expect(!perMinute.allowed)
        #expect(perMinute.tightest == RateLimit("3 per minute")!)
    }

    @Test func memoryStaysBoundedWithManyClients() {
        let limiter = RateLimiter(limits: [RateLimit("10 per minute")!], maxKeys: 10_000)
        for index in 0..<100_000 {
            _ = limiter.check("10.\(index / 65536).\(index / 256 % 256).\(index % 256)", now: start.adding(milliseconds: Int64(index)))
        }
        #expect(limiter.keyCount <= 10_000)
        // Idle keys are forgotten entirely once their limits have recovered.
        _ = limiter.check("late", now: start.adding(milliseconds: 10_000_000))
        for index in 0..<10_000 { _ = limiter.check("x\(index)", now: start.adding(milliseconds: 10_000_000)) }
        #expect(limiter.keyCount <= 10_000)
    }

    @Test func forwardedAddressesCountOnlyFromTrustedProxies() {
        #expect(ClientAddress.resolve(peer: "203.0.113.9", forwardedFor: "198.51.100.1", trustedProxies: []) == "203.0.113.9")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: "198.51.100.1", trustedProxies: ["10.0.0.2"]) == "198.51.100.1")
        // A client cannot hide behind a forged first hop: the right-most untrusted hop counts.
        #expect(
            ClientAddress.resolve(
                peer: "10.0.0.2", forwardedFor: "1.2.3.4, 198.51.100.1, 10.0.0.3", trustedProxies: ["10.0.0.2", "10.0.0.3"])
                == "198.51.100.1")
        #expect(ClientAddress.resolve(peer: nil, forwardedFor: "1.2.3.4", trustedProxies: []) == "unknown")
    }
}
