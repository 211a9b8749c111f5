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

    /// A next-page link is ASCII (RFC 3986's unreserved characters and escapes) and decodes
    /// back to the parameters it came from.
    @Test func mediaTypesLoseTheirParametersSpacesAndCase() {
        #expect(RequestInput.mediaType(of: "application/json") == "application/json")
        #expect(RequestInput.mediaType(of: "Application/JSON ; charset=utf-8") == "application/json")
        #expect(RequestInput.mediaType(of: "\ttext/calendar\t") == "text/calendar")
        #expect(RequestInput.mediaType(of: "application/merge-patch+json;x=1") == "application/merge-patch+json")
        #expect(RequestInput.mediaType(of: "  ; charset=utf-8") == "")
        #expect(RequestInput.mediaType(of: "") == "")
        #expect(RequestInput.mediaType(of: "application/jsön") == "application/jsön", "non-ASCII bytes kept as they are")
    }

    @Test func nextPageLinksEncodeEveryByteButTheUnreserved() {
        #expect(RequestInput.encodeQueryComponent("Tel Aviv-2_x.y~") == "Tel%20Aviv-2_x.y~")
        #expect(RequestInput.encodeQueryComponent("café & co=1+2%") == "caf%C3%A9%20%26%20co%3D1%2B2%25")
        let parameters = [("q", "Zürich + €"), ("cursor", "old"), ("limit", "2")]
        let uri = RequestInput.nextPage(path: "/events", parameters, cursor: "abc")
        #expect(uri == "/events?q=Z%C3%BCrich%20%2B%20%E2%82%AC&limit=2&cursor=abc")
        #expect(uri.utf8.allSatisfy { $0 < 0x80 })
        let query = uri.split(separator: "?")[1].split(separator: "&").map { $0.split(separator: "=", maxSplits: 1) }
        #expect(query.map { RequestInput.decodeComponent($0[1]) } == ["Zürich + €", "2", "abc"])
    }
}
