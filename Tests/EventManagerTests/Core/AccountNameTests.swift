import Testing

@testable import EventManagerCore

/// Account names: the limit of the OpenAPI document holds for what was sent, before trimming.
@Suite struct AccountNameTests {
    @Test func theLengthLimitAppliesBeforeTrimming() {
        #expect((try? AccountName.validate(" " + String(repeating: "a", count: 99)).get()) == String(repeating: "a", count: 99))
        #expect((try? AccountName.validate(" " + String(repeating: "a", count: 100)).get()) == nil)
        #expect((try? AccountName.validate("   ").get()) == nil)
        #expect((try? AccountName.validate("ann\u{7}").get()) == nil)
    }
}
