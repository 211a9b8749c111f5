/// The source of "now" for everything that stamps or schedules, injected so tests control time.
public protocol WallClock: Sendable {
    func now() -> Timestamp
    /// Returns at `deadline` (at once if it passed); throws when the task is cancelled. A test
    /// clock moves its time to the deadline instead of waiting.
    func sleep(until deadline: Timestamp) async throws
}

extension WallClock {
    public func sleep(until deadline: Timestamp) async throws {
        let milliseconds = deadline.millisecondsSinceEpoch - now().millisecondsSinceEpoch
        if milliseconds > 0 { try await Task.sleep(for: .milliseconds(milliseconds)) }
    }
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}

    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Duration {
    /// The whole nanoseconds of this duration (what NIO's `TimeAmount` and metrics take).
    package var totalNanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
    /// The whole milliseconds of this duration (the unit of `Timestamp`).
    package var totalMilliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
