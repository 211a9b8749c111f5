import Synchronization
import Testing

@testable import EventManagerCore

/// Concurrent callers share a read, but never one that began before they asked.
@Suite struct SharedReadsTests {
    @Test func callersArrivingDuringAReadShareTheNextOne() async throws {
        let reads = Mutex(0)
        let (gate, open) = AsyncStream<Void>.makeStream()
        let shared = SharedReads<Int> {
            let number = reads.withLock { reads in
                reads += 1
                return reads
            }
            // The first read waits until the test lets it finish.
            if number == 1 { for await _ in gate { break } }
            return number
        }
        async let first = shared.next()
        while reads.withLock({ $0 }) == 0 { await Task.yield() }
        async let second = shared.next()
        async let third = shared.next()
        while shared.waitingCount < 2 { await Task.yield() }
        open.yield()
        #expect(try await first == 1)
        #expect(try await second == 2, "asked during the first read, answered by a read begun after")
        #expect(try await third == 2)
        #expect(reads.withLock { $0 } == 2, "the two late callers shared one read")
    }

    @Test func aFailedReadFailsEveryoneWaitingForIt() async throws {
        struct Down: Error {}
        let shared = SharedReads<Int> { throw Down() }
        await #expect(throws: Down.self) { try await shared.next() }
    }
}
