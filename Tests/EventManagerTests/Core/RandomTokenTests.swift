import Foundation
import Testing

@testable import EventManagerCore

/// Tokens are written by hand-rolled encoders (see `RandomToken`); they must agree with
/// Foundation's base64 for every length, and be as long and as alphabetic as promised.
@Suite struct RandomTokenTests {
    @Test func base64AgreesWithFoundationForEveryLength() {
        for length in 0...70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255) }
            let standard = Data(bytes).base64EncodedString()
            #expect(
                RandomToken.encode(
                    bytes, alphabet: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8), padded: true)
                    == standard)
            let url = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(
                RandomToken.encode(
                    bytes, alphabet: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8), padded: false) == url)
        }
    }

    @Test func tokensHaveTheirLengthAlphabetAndDiffer() {
        let token = RandomToken.make()
        #expect(token.count == 43)
        #expect(token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(RandomToken.make() != token)
        let hex = RandomToken.hex(bytes: 16)
        #expect(hex.count == 32 && hex.allSatisfy(\.isHexDigit) && hex == hex.lowercased())
        #expect(Set((0..<100).map { _ in RandomToken.hex(bytes: 3) }).count > 90, "24 random bits rarely repeat in 100 draws")
        #expect(RandomToken.lowercaseHex([0x00, 0x0F, 0xAB, 0xFF]) == "000fabff", "the form stored key hashes have")
        let secret = RandomToken.standardBase64(bytes: 24)
        #expect(Data(base64Encoded: secret)?.count == 24)
    }

    @Test func timeOrderedTokensSortByTheirTimeAndKeepTheRandomPart() {
        let random = RandomToken.make()
        let token = RandomToken.timeOrdered(random, at: Timestamp(millisecondsSinceEpoch: 0x19A_BCDE_F012))
        #expect(token == "019abcdef012" + random)
        #expect(RandomToken.timeOrdered("x", at: Timestamp(millisecondsSinceEpoch: -5)) == "000000000000x", "before 1970: zero")
        // Later tokens sort later as plain bytes (SQLite's BINARY order), whatever their random part.
        var times = (0..<500).map { _ in Int64.random(in: 0...4_102_444_800_000) }
        times.sort()
        let tokens = times.map { RandomToken.timeOrdered(RandomToken.hex(bytes: 4), at: Timestamp(millisecondsSinceEpoch: $0)) }
        #expect(tokens.map { $0.prefix(12) } == tokens.map { $0.prefix(12) }.sorted())
    }
}
