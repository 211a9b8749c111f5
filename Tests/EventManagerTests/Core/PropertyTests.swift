import Foundation
import NIOCore
import PropertyBased
import Testing

@testable import EventManagerCore
@testable import EventManagerMail

/// Invariants over generated input (swift-property-based): round trips and bounds that must
/// hold for every value, not just the ones a person thought of.
@Suite struct PropertyTests {
    /// Every instant from year 1 to 9999 survives RFC 3339 and back, and its day prints as the
    /// date the parser reads back as that day.
    @Test func timestampsRoundTripThroughRFC3339() async {
        let instants = Gen.int64(in: Timestamp.minimum.millisecondsSinceEpoch...Timestamp.maximum.millisecondsSinceEpoch)
        await propertyCheck(count: 500, input: instants) { milliseconds in
            let instant = Timestamp(millisecondsSinceEpoch: milliseconds)
            #expect(DateInput.parse(instant.rfc3339) == .instant(instant))
            let day = CivilTime(instant).isoDate
            guard case .day? = DateInput.parse(day) else {
                Issue.record("\(day) is not read back as a day")
                return
            }
            let midnight = DateInput.parse(day)!.resolve(in: .utc)
            #expect(midnight <= instant && instant < midnight.adding(milliseconds: 86_400_000))
        }
    }

    /// JSON's timestamps, written digit by digit, are exactly RFC 3339.
    @Test func jsonTimestampsAreRFC3339() async {
        let instants = Gen.int64(in: Timestamp.minimum.millisecondsSinceEpoch...Timestamp.maximum.millisecondsSinceEpoch)
        await propertyCheck(count: 500, input: instants) { milliseconds in
            let instant = Timestamp(millisecondsSinceEpoch: milliseconds)
            var writer = JSONWriter()
            writer.timestamp(instant)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == "\"\(instant.rfc3339)\"")
        }
    }

    /// Integers are written as Swift prints them, extremes included.
    @Test func integersAreWrittenAsTheirDigits() async {
        for value in [0, 9, 10, -1, -10, Int64.max, Int64.min, Int64.min + 1] {
            var writer = JSONWriter()
            writer.integer(value)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
        }
        await propertyCheck(count: 500, input: Gen.int64(in: Int64.min...Int64.max)) { value in
            var writer = JSONWriter()
            writer.integer(value)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
        }
    }

    /// Offsets move the instant and nothing else: `T+hh:mm` is `T` minus the offset.
    @Test func offsetsAreAppliedExactly() async {
        await propertyCheck(count: 300, input: Gen.int64(in: 0...4_000_000_000_000), Gen.int(in: -14 * 60...14 * 60)) { ms, minutes in
            let utc = Timestamp(millisecondsSinceEpoch: ms / 1000 * 1000)
            let local = CivilTime(utc, offsetSeconds: Int64(minutes) * 60)
            let sign = minutes < 0 ? "-" : "+"
            let offset = String(format: "%@%02d:%02d", sign, abs(minutes) / 60, abs(minutes) % 60)
            let text = local.isoDate + String(format: "T%02lld:%02lld:%02lld", local.hour, local.minute, local.second) + offset
            #expect(DateInput.parse(text) == .instant(utc), "\(text)")
        }
    }

    /// Addresses of the allowed shape are accepted as typed; anything with a space or a control
    /// character never is, and the mailbox of an address is its own mailbox.
    @Test func emailValidation() async {
        let local = Gen.letterOrNumber.string(of: 1...20)
        let label = Gen.lowercaseLetter.string(of: 1...10)
        await propertyCheck(count: 300, input: local, label, label, Gen.letterOrNumber.string(of: 0...5)) { user, host, tld, tag in
            let text = tag.isEmpty ? "\(user)@\(host).\(tld)" : "\(user)+\(tag)@\(host).\(tld)"
            guard case .success(let address) = EmailAddress.parse(text) else {
                Issue.record("\(text) refused")
                return
            }
            #expect(address.value == text)
            #expect(address.mailbox == "\(user)@\(host).\(tld)".lowercased())
            #expect(try! EmailAddress.parse(address.mailbox).get().mailbox == address.mailbox)
            for bad in [" ", "\t", "\u{0}", "\r\n", "\u{7F}"] {
                #expect(throws: FieldError.self) { try EmailAddress.parse(user + bad + "@\(host).\(tld)").get() }
            }
        }
    }

    /// An address of ASCII only is checked byte by byte: it breaks the same rule (so gets the
    /// same message) as by Characters and Unicode properties, near every limit too.
    @Test func asciiAddressesAreDecidedAsByCharacters() async {
        let alphabet: [Character] = ["a", "Z", "7", "-", ".", ".", "@", "+", " ", "\t", "(", "\"", "\u{7F}", "_", "x", "\r\n"]
        let text = Gen.int(in: 0...(alphabet.count - 1)).array(of: 0...40).map { picks in String(picks.map { alphabet[$0] }) }
        await propertyCheck(count: 1000, input: text, text) { first, second in
            for candidate in [first, first + "@" + second, "a" + first + "@b" + second + ".co"] {
                #expect(EmailAddress.asciiRuleBroken(candidate) == .some(EmailAddress.scalarRuleBroken(candidate)), "\(candidate)")
            }
        }
        await propertyCheck(count: 300, input: Gen.int(in: 60...70), Gen.int(in: 58...68), Gen.int(in: 0...3)) { local, label, labels in
            let domain = (0...labels).map { String(repeating: "d", count: label - $0) }.joined(separator: ".")
            let candidate = String(repeating: "l", count: local) + "@" + domain
            #expect(EmailAddress.asciiRuleBroken(candidate) == .some(EmailAddress.scalarRuleBroken(candidate)), "\(candidate)")
        }
        #expect(EmailAddress.asciiRuleBroken("dörte@exämple.com") == nil, "not ASCII: decided by scalars")
    }

    /// An event's texts are measured and checked for control characters by bytes while they
    /// are ASCII, exactly as by scalars (C1 controls such as U+0085 are beyond ASCII).
    @Test func textRulesByBytesAgreeWithScalars() async {
        let alphabet: [Character] = ["a", " ", "\t", "\n", "\u{7F}", "\u{1F}", "é", "\u{85}", "\u{9F}", "€", "😀", "\r\n", "Z"]
        let text = Gen.int(in: 0...(alphabet.count - 1)).array(of: 0...30).map { picks in String(picks.map { alphabet[$0] }) }
        await propertyCheck(count: 1000, input: text) { text in
            #expect(EventDraft.codePoints(text) == text.unicodeScalars.count, "\(text.debugDescription)")
            #expect(
                EventDraft.containsControlCharacter(text) == text.unicodeScalars.contains { $0.properties.generalCategory == .control },
                "\(text.debugDescription)")
        }
    }

    /// Any reply the server may send, single or multi-line, is read as its code and lines.
    @Test func smtpRepliesAreParsedWhole() async {
        let text = Gen.letterOrNumber.string(of: 0...30).array(of: 1...5)
        await propertyCheck(count: 300, input: Gen.int(in: 200...599), text) { code, lines in
            var parser = SMTPReply.Parser()
            var reply: SMTPReply?
            for (index, line) in lines.enumerated() {
                let separator = index == lines.count - 1 ? " " : "-"
                #expect(reply == nil, "the reply ended early")
                reply = try? parser.add("\(code)\(separator)\(line)")
            }
            #expect(reply?.code == code)
            #expect(reply?.lines == lines)
            var other = SMTPReply.Parser()
            #expect(throws: SMTPReply.Parser.Malformed.self) {
                _ = try other.add("\(code)-first")
                _ = try other.add("\(code == 250 ? 251 : 250) second")
            }
        }
    }

    /// Dot-stuffing keeps the message, whatever its lines: removing one dot from every line that
    /// starts with one gives the data back, and no line of it ends the transfer early.
    @Test func dotStuffingIsTransparent() async {
        let alphabet: [Character] = [".", ".", "a", "b", " ", "é"]
        let line = Gen.int(in: 0...5).array(of: 0...6).map { picks in String(picks.map { alphabet[$0] }) }
        await propertyCheck(count: 500, input: line.array(of: 1...8)) { lines in
            let data = Array(lines.joined(separator: "\r\n").utf8)
            var buffer = ByteBuffer()
            SMTPConnection.dotStuff(data, into: &buffer)
            let sent = Array(buffer.readableBytesView)
            #expect(sent.suffix(5) == Array("\r\n.\r\n".utf8), "ends with the terminator")
            // The message is what precedes the final ".\r\n"; its lines lose their stuffed dot.
            let body = Array(sent.dropLast(3))
            let unstuffed = Self.lines(body).map { $0.first == UInt8(ascii: ".") ? Array($0.dropFirst()) : $0 }
            #expect(!Self.lines(body).contains([UInt8(ascii: ".")]), "a lone dot would end the message early")
            let crlf: [UInt8] = [13, 10]
            let expected = data.count >= 2 && Array(data.suffix(2)) == crlf ? data : data + crlf
            #expect(Array(unstuffed.joined(separator: crlf)) + crlf == expected)
        }
    }

    /// The CRLF-separated lines of `bytes` (a final CRLF ends the last line).
    static func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = [[]]
        var index = 0
        while index < bytes.count {
            if index + 1 < bytes.count, bytes[index] == 13, bytes[index + 1] == 10 {
                lines.append([])
                index += 2
            } else {
                lines[lines.count - 1].append(bytes[index])
                index += 1
            }
        }
        if lines.last == [] { lines.removeLast() }
        return lines
    }

    /// RFC 2047: encoded-words decode to the text, each at most 75 characters, all ASCII.
    @Test func encodedWordsRoundTrip() async {
        let text = Gen.unicodeScalar(in: " "..."\u{2FFF}").map { Character($0) }.string(of: 1...120)
        await propertyCheck(count: 300, input: text) { text in
            let value = MIMEMessage.headerValue(text)
            #expect(value.utf8.allSatisfy { $0 < 0x80 }, "a header is ASCII")
            #expect(!value.contains("\r\n") || value.contains("\r\n "), "folded lines continue")
            guard value.hasPrefix("=?UTF-8?B?") else {
                #expect(value == String(text.map { $0.isASCII && !$0.isNewline && $0 != "\t" ? $0 : " " }))
                return
            }
            let words = value.components(separatedBy: "\r\n ")
            #expect(words.allSatisfy { $0.count <= 75 })
            let bytes = words.flatMap { word in Data(base64Encoded: String(word.dropFirst(10).dropLast(2))).map(Array.init) ?? [] }
            let flattened = String(
                String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
            #expect(String(decoding: bytes, as: UTF8.self) == flattened)
        }
    }

    /// iCalendar: folded lines are at most 75 octets, never split a character, and unfold to the
    /// line; TEXT escaping is undone exactly by an RFC 5545 reader.
    @Test func iCalendarFoldingAndEscaping() async {
        // Any scalar from the space to the emoji, less the surrogates (not scalars at all).
        let text = Gen.uint32(in: 0x20...0x1F600).compactMap { Unicode.Scalar($0).map(Character.init) }.string(of: 0...200)
        await propertyCheck(count: 300, input: text) { text in
            let escaped = ICalendarText.escape(text)
            // CR is dropped and other control characters become spaces; everything else survives.
            let kept = String.UnicodeScalarView(
                text.unicodeScalars.compactMap { scalar -> Unicode.Scalar? in
                    scalar == "\r" ? nil : scalar == "\n" || scalar.properties.generalCategory != .control ? scalar : " "
                })
            #expect(Self.unescape(escaped) == String(kept))
            let folded = ICalendarText.fold("SUMMARY:" + escaped)
            var physical: [[UInt8]] = [[]]
            var index = 0
            while index < folded.count {
                if index + 2 < folded.count, folded[index] == 13, folded[index + 1] == 10, folded[index + 2] == 32 {
                    physical.append([])
                    index += 3
                } else {
                    physical[physical.count - 1].append(folded[index])
                    index += 1
                }
            }
            #expect(physical.allSatisfy { $0.count <= 75 }, "at most 75 octets a line")
            #expect(physical.allSatisfy { String(validating: $0, as: UTF8.self) != nil }, "no character split")
            #expect(String(decoding: physical.joined(), as: UTF8.self) == "SUMMARY:" + escaped)
        }
    }

    /// RFC 5545 3.3.11, as a calendar reads it.
    static func unescape(_ text: String) -> String {
        var out = ""
        var escaping = false
        for character in text {
            if escaping {
                out.append(character == "n" || character == "N" ? "\n" : character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                out.append(character)
            }
        }
        return out
    }
}
