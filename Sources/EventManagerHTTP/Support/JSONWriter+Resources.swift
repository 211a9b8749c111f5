import EventManagerCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The service's resources and errors as JSON, written straight into bytes.
extension JSONWriter {
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
        self.error(code: error.code, message: error.message, details: error.details)
    }

    mutating func error(code: String, message: String, details: AppError.Details? = nil) {
        raw("{\"error\":{\"code\":")
        string(code)
        raw(",\"message\":")
        string(message)
        switch details {
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
    /// - Parameter capacity: the expected size, so a page of events is written without regrowing.
    static func json(status: HTTPResponse.Status = .ok, capacity: Int = 256, _ write: (inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter(capacity: capacity)
        write(&writer)
        return Response(status: status, headers: jsonHeaders, body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }

    /// Every JSON answer: the media type, and no sniffing of it into anything else.
    static let jsonHeaders: HTTPFields = [.contentType: "application/json", HTTPField.Name("X-Content-Type-Options")!: "nosniff"]
}
