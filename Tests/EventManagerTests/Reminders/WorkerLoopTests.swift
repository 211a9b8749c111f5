import Foundation
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerStorage

@Suite(.resources) struct WakeupTests {
    /// A lost signal would sleep for the hour and trip the time limit; no wall-clock guess needed.
    @Test(.timeLimit(.minutes(1))) func aSignalBeforeTheWaitIsNotLost() async {
        let wakeup = Wakeup()
        wakeup.signal()
        await wakeup.wait(timeout: .seconds(3600))
    }

    @Test func aWaitEndsAtItsTimeout() async {
        let start = ContinuousClock.now
        await Wakeup().wait(timeout: .milliseconds(50))
        #expect(ContinuousClock.now - start >= .milliseconds(50))
    }
}
