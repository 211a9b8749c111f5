import EventManagerCore
import Foundation
import Hummingbird
import NIOCore

/// Reading what a client sent: the JSON body and the query string.
enum RequestInput {
    /// Reads and parses a JSON body, enforcing content type and size.
    ///
    /// - Parameters:
    ///   - limit: largest body accepted, in bytes (`app.max_body_bytes`).
    ///   - mediaTypes: accepted media types besides `application/json`.
    static func json(_ request: Request, limit: Int, also mediaTypes: [String] = []) async throws -> JSONValue {
        try checkContentType(request, also: mediaTypes)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw tooLarge(limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge(limit)
        }
        guard buffer.readableBytes > 0 else {
            throw AppError(.badRequest, code: "empty_body", message: "the request body is empty; expected a JSON document")
        }
        do {
            return try JSONParser.parse(Array(buffer.readableBytesView))
        } catch {
            switch error.reason {
            case .syntax:
                throw AppError(
                    .badRequest, code: "malformed_json",
                    message: "the request body is not valid JSON (RFC 8259): error at byte \(error.offset)")
            case .duplicateKey(let key):
                throw AppError(
                    .badRequest, code: "duplicate_member",
                    message: "the member '\(key.prefix(64))' appears twice in one object (byte \(error.offset)); send it once")
            case .tooDeep:
                throw AppError(
                    .badRequest, code: "too_deep",
                    message: "the request body nests arrays and objects deeper than \(JSONParser.maxDepth) levels")
            }
        }
    }

    static func tooLarge(_ limit: Int) -> AppError {
        AppError(.payloadTooLarge, code: "body_too_large", message: "the request body exceeds the limit of \(limit) bytes")
    }

    private static func checkContentType(_ request: Request, also mediaTypes: [String]) throws {
        let raw = request.headers[.contentType] ?? ""
        let essence = mediaType(of: raw)
        guard essence == "application/json" || mediaTypes.contains(essence) else {
            let accepted = (["application/json"] + mediaTypes).joined(separator: " or ")
            throw AppError(
                .unsupportedMediaType, code: "unsupported_media_type",
                message: raw.isEmpty
                    ? "Content-Type is missing; send \(accepted)" : "Content-Type '\(raw.prefix(100))' is not supported; send \(accepted)"
            )
        }
    }

    /// The media type of a `Content-Type` value without its parameters, in lower case
    /// ("Application/JSON ; charset=utf-8" is "application/json"). By bytes: Foundation's
    /// trimming and lowercasing took 2 % of the CPU of `POST /events`.
    static func mediaType(of value: String) -> String {
        if value == "application/json" { return value }
        var bytes: [UInt8] = []
        for byte in value.utf8 {
            if byte == UInt8(ascii: ";") { break }
            bytes.append(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte)
        }
        let space: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let start = bytes.firstIndex { !space($0) } ?? bytes.endIndex
        let end = bytes.lastIndex { !space($0) }.map { $0 + 1 } ?? start
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }

    /// The query's name-value pairs in order, decoded as HTML forms encode them (`+` is a space).
    static func query(_ request: Request) throws -> [(String, String)] {
        guard let query = request.uri.query, !query.isEmpty else { return [] }
        var pairs: [(String, String)] = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) throws -> String {
                guard let decoded = decodeComponent(text) else {
                    throw AppError(
                        .badRequest, code: "malformed_query",
                        message: "the query string has invalid percent-encoding near '\(text.prefix(50))'")
                }
                return decoded
            }
            pairs.append((try decode(pieces[0]), pieces.count > 1 ? try decode(pieces[1]) : ""))
        }
        return pairs
    }

    /// `+` as a space and `%XX` as a byte, then UTF-8; nil for a bad escape or bytes that are
    /// not UTF-8. By hand: Foundation's `removingPercentEncoding` and `replacingOccurrences`
    /// were 9 % of the CPU of the seed form `GET /events?id=N` in a profile.
    static func decodeComponent(_ text: Substring) -> String? {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            index = utf8.index(after: index)
            switch byte {
            case UInt8(ascii: "+"): bytes.append(0x20)
            case UInt8(ascii: "%"):
                guard index != utf8.endIndex, let high = hexValue(utf8[index]) else { return nil }
                index = utf8.index(after: index)
                guard index != utf8.endIndex, let low = hexValue(utf8[index]) else { return nil }
                index = utf8.index(after: index)
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The URI of the next page: the request's path and parameters, with `cursor` replaced.
    static func nextPage(path: String, _ parameters: [(String, String)], cursor: String) -> String {
        var uri = path
        var separator: Character = "?"
        for (name, value) in parameters where name != "cursor" {
            uri.append(separator)
            uri += encodeQueryComponent(name) + "=" + encodeQueryComponent(value)
            separator = "&"
        }
        uri.append(separator)
        return uri + "cursor=" + encodeQueryComponent(cursor)
    }

    /// A `Link` header value to the next page.
    static func nextLink(path: String, _ parameters: [(String, String)], cursor: String) -> String {
        "<\(nextPage(path: path, parameters, cursor: cursor))>; rel=\"next\""
    }

    /// Percent-encodes a query component so it survives a round trip through `query(_:)`:
    /// every UTF-8 byte but RFC 3986's unreserved characters (ASCII letters, digits, `-._~`).
    ///
    /// By bytes, not through Foundation's `CharacterSet.alphanumerics`, which kept letters such
    /// as "é" unencoded (not a valid URI) and was built again for every parameter of every
    /// page (a percent of a list's CPU).
    static func encodeQueryComponent(_ text: String) -> String {
        let utf8 = text.utf8
        if utf8.allSatisfy(isUnreserved) { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count * 3)
        for byte in utf8 {
            if isUnreserved(byte) {
                bytes.append(byte)
            } else {
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// An integer path parameter, or a 404 naming what was looked for.
    static func eventID(_ context: some RequestContext) throws -> Int64 {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int64(raw), id > 0 else {
            throw AppError(.notFound, code: "event_not_found", message: "no event with id '\(raw.prefix(40))': ids are positive integers")
        }
        return id
    }
}
