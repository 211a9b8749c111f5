import Testing

@testable import EventManagerHTTP

/// Query components decode as browsers and curl encode them, and bad escapes are refused.
@Suite struct RequestInputTests {
    @Test func decodesQueryComponents() {
        let cases: [(String, String?)] = [
            ("plain", "plain"), ("a+b", "a b"), ("%41%62", "Ab"), ("caf%C3%A9", "café"), ("100%25", "100%"), ("%2B", "+"),
            ("", ""), ("%", nil), ("%4", nil), ("%zz", nil), ("%FF%FE", nil), ("a%2", nil), ("%e2%82%ac", "€"),
        ]
        for (text, expected) in cases {
            #expect(RequestInput.decodeComponent(Substring(text)) == expected, "\(text)")
        }
    }
}
