import Hummingbird
import NIOCore

/// Appends JSON text to a byte array.
///
/// Responses are written by hand rather than through `JSONEncoder`: the bytes and the order of
/// members are then fixed, and a single-event read costs one small allocation.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [92, 92])
            case 0x0A: bytes.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func integer(_ value: Int64) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// Writes `items` as a JSON array, each with `element`.
    mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): bool(flag)
        case .integer(let number): integer(number)
        case .number(let number): bytes.append(contentsOf: "\(number)".utf8)
        case .string(let text): string(text)
        case .array(let items): array(items) { $0.value($1) }
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(key)
                bytes.append(UInt8(ascii: ":"))
                self.value(members[key]!)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }
}

extension JSONWriter {
    /// The public representation of an event.
    mutating func event(_ event: Event) {
        raw("{\"id\":")
        integer(event.id)
        raw(",\"title\":")
        string(event.title)
        raw(",\"location\":")
        string(event.location)
        raw(",\"date\":\"")
        bytes.append(contentsOf: event.startsAt.rfc3339.utf8)
        raw("\",\"timezone\":")
        string(event.timeZone.identifier)
        raw(",\"popularity\":")
        integer(event.popularity)
        raw(",\"created_at\":\"")
        bytes.append(contentsOf: event.createdAt.rfc3339.utf8)
        raw("\",\"updated_at\":\"")
        bytes.append(contentsOf: event.updatedAt.rfc3339.utf8)
        raw("\"}")
    }

    mutating func fieldErrors(_ errors: [FieldError]) {
        array(errors) { writer, error in
            writer.raw("{\"field\":")
            writer.string(error.field)
            writer.raw(",\"code\":")
            writer.string(error.code)
            writer.raw(",\"message\":")
            writer.string(error.message)
            writer.raw("}")
        }
    }

    /// The error body every failure uses: `{"error": {"code", "message", "details"?}}`.
    mutating func error(_ error: AppError) {
        raw("{\"error\":{\"code\":")
        string(error.code)
        raw(",\"message\":")
        string(error.message)
        switch error.details {
        case nil:
            break
        case .fields(let errors)?:
            raw(",\"details\":")
            fieldErrors(errors)
        case .items(let items)?:
            raw(",\"details\":")
            array(items) { writer, item in
                writer.raw("{\"index\":")
                writer.integer(Int64(item.index))
                writer.raw(",\"errors\":")
                writer.fieldErrors(item.errors)
                writer.raw("}")
            }
        case .validValues(let values)?:
            raw(",\"details\":{\"valid_values\":")
            array(values) { $0.string($1) }
            raw("}")
        }
        raw("}}")
    }
}

extension Response {
    /// A JSON response whose body `write` produces.
    static func json(status: HTTPResponse.Status = .ok, _ write: (inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter()
        write(&writer)
        return Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}
