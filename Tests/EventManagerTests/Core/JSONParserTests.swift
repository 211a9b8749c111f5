import Foundation
import Testing

@testable import EventManagerCore

@Suite struct JSONParserTests {
    func parse(_ text: String) throws(JSONParser.Failure) -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"a": [1, -2.5, 1e3, true, false, null, "x\n\u00e9\ud83d\ude00"], "b": {}} "#)
        #expect(
            value
                == .object([
                    "a": .array([.integer(1), .number(-2.5), .integer(1000), .bool(true), .bool(false), .null, .string("x\né😀")]),
                    "b": .object([:]),
                ]))
        #expect(try parse("9223372036854775807") == .integer(Int64.max))
        #expect(try parse("9223372036854775808") == .number(9_223_372_036_854_775_808))
        #expect(try parse("343.0") == .integer(343), "whole numbers are integers, as JSON Schema counts them")
        #expect(try parse("0.5") == .number(0.5))
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "+1", "1e", "tru", "nul", "\"abc", "\"\\x\"", "\"\u{1}\"",
        "\"\\ud800\"", "\"\\udc00\"", "{\"a\" 1}", "[1 2]", "1 2", "1e400", "NaN",
    ])
    func refusesWhatRFC8259Refuses(text: String) {
        #expect(throws: JSONParser.Failure.self) { try parse(text) }
    }

    @Test func aMemberGivenTwiceIsRefusedAndNamed() {
        #expect(throws: JSONParser.Failure(reason: .duplicateKey("title"), offset: 14)) {
            try parse(#"{"title":"a", "title":"b"}"#)
        }
        #expect(throws: Never.self) { try parse(#"{"a":{"x":1},"b":{"x":1}}"#) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func nestingIsBounded() throws {
        let ok = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        #expect(throws: Never.self) { try parse(ok) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParser.Failure(reason: .tooDeep, offset: JSONParser.maxDepth)) { try parse(deep) }
    }
}
