import EventManagerCore
import Foundation

/// An email ready for a transport: envelope plus the RFC 5322 text.
public struct OutgoingMail: Sendable, Equatable {
    public var from: String
    public var to: String
    public var messageID: String
    /// The whole message, CRLF line endings; 7-bit clean except for a non-ASCII address in
    /// `From` or `To`, which needs SMTPUTF8 (RFC 6531) anyway.
    public var data: [UInt8]

    public init(from: String, to: String, messageID: String, data: [UInt8]) {
        self.from = from
        self.to = to
        self.messageID = messageID
        self.data = data
    }

    public var needsSMTPUTF8: Bool { !(from + to).utf8.allSatisfy { $0 < 0x80 } }
}

/// A MIME message under construction.
///
/// Everything user-controlled goes through `headerValue` (CR and LF can never reach a header;
/// non-ASCII becomes RFC 2047 encoded-words) or a base64 body part, so the output is 7-bit
/// clean and safe to hand to any SMTP server.
public struct MIMEMessage: Sendable {
    public struct Part: Sendable {
        public var contentType: String
        public var body: [UInt8]
        public var filename: String?

        public init(contentType: String, body: [UInt8], filename: String? = nil) {
            self.contentType = contentType
            self.body = body
            self.filename = filename
        }
    }

    public var headers: [(String, String)] = []
    /// Alternatives, least preferred first (text, then HTML).
    public var alternatives: [Part] = []
    public var attachments: [Part] = []

    public init() {}

    public mutating func header(_ name: String, _ value: String) {
        headers.append((name, Self.headerValue(value)))
    }

    /// An address header (`From`, `To`). RFC 2047 forbids encoded-words in addresses, so a
    /// non-ASCII address is written as UTF-8 (RFC 6532); such a message is only sent over
    /// SMTPUTF8, which the SMTP client demands of the server for it.
    public mutating func addressHeader(_ name: String, _ address: String) {
        headers.append((name, Self.flattened(address)))
    }

    /// The text on one line: CR, LF and other control characters become spaces.
    static func flattened(_ value: String) -> String {
        // Printable ASCII, by far the usual case, needs no look-up of Unicode properties.
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return value }
        return String(String.UnicodeScalarView(value.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }

    /// A header value on one line: CR/LF/control characters become spaces, and text that is not
    /// printable ASCII is RFC 2047 encoded.
    public static func headerValue(_ value: String) -> String {
        let flat = flattened(value)
        if flat.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return flat }
        return encodedWords(flat)
    }

    /// `=?UTF-8?B?...?=` words of at most 75 characters, split between characters.
    static func encodedWords(_ text: String) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if (chunk.count + bytes.count + 2) / 3 * 4 > 60 {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// The message as CRLF text, written straight into bytes.
    public func render(boundarySeed: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096 + (alternatives + attachments).reduce(0) { $0 + $1.body.count * 4 / 3 })
        for (name, value) in headers {
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: [13, 10])
        }
        let mixed = "mixed-\(boundarySeed)"
        let alternative = "alt-\(boundarySeed)"
        out.append(contentsOf: "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"\(mixed)\"\r\n\r\n".utf8)
        out.append(contentsOf: "This is a multi-part message in MIME format.\r\n".utf8)
        out.append(contentsOf: "--\(mixed)\r\nContent-Type: multipart/alternative; boundary=\"\(alternative)\"\r\n\r\n".utf8)
        for part in alternatives {
            out.append(contentsOf: "--\(alternative)\r\n".utf8)
            Self.render(part, into: &out)
        }
        out.append(contentsOf: "--\(alternative)--\r\n".utf8)
        for part in attachments {
            out.append(contentsOf: "--\(mixed)\r\n".utf8)
            Self.render(part, into: &out)
        }
        out.append(contentsOf: "--\(mixed)--\r\n".utf8)
        return out
    }

    private static func render(_ part: Part, into out: inout [UInt8]) {
        out.append(contentsOf: "Content-Type: \(part.contentType)\r\nContent-Transfer-Encoding: base64\r\n".utf8)
        if let filename = part.filename { out.append(contentsOf: "Content-Disposition: attachment; filename=\"\(filename)\"\r\n".utf8) }
        out.append(contentsOf: [13, 10])
        // Lines of 76 characters (RFC 2045 6.8).
        let encoded = Data(part.body).base64EncodedData(options: [
            .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
        ])
        out.append(contentsOf: encoded)
        if !encoded.isEmpty { out.append(contentsOf: [13, 10]) }
    }

    /// RFC 5322 date: `Thu, 26 Nov 2026 21:17:08 +0000`.
    public static func date(_ instant: Timestamp) -> String { CivilTime(instant).rfc5322 }
}
