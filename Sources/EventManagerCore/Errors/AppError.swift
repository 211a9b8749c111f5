/// One problem with one field of a request, reported to the client as-is.
public struct FieldError: Error, Sendable, Equatable, Codable {
    /// JSON Pointer-like location of the field (`title`, `[3].date`, `cursor`).
    public var field: String
    /// Stable machine-readable reason (`required`, `too_long`, `invalid_type`, ...).
    public var code: String
    public var message: String

    public init(field: String, code: String, message: String) {
        self.field = field
        self.code = code
        self.message = message
    }
}

/// An error the service reports to its caller, independent of the transport.
///
/// Domain and storage code throw this; the HTTP layer maps `kind` to a status code, so the
/// rules stay free of HTTP while every failure still knows how it should be answered and logged.
public struct AppError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case badRequest
        case unauthorized
        case forbidden
        case notFound
        case conflict
        /// A condition the client set (`If-Match`) does not hold: the resource changed.
        case preconditionFailed
        /// What the client refers to existed once and is no longer kept (an expired sync token).
        case gone
        case payloadTooLarge
        case unsupportedMediaType
        case validation
        case tooManyRequests
        /// A dependency (the database, the mail server) does not answer; trying later may work.
        case unavailable
        /// A bug: the caller learns nothing but that it happened.
        case internalError
    }

    public var kind: Kind
    public var code: String
    public var message: String
    public var details: Details?
    /// For `tooManyRequests`: when the client may try again.
    public var retryAfterSeconds: Int64?

    /// Structured extra information carried in the error body's `details` member.
    public enum Details: Sendable, Equatable {
        case fields([FieldError])
        case items([ItemErrors])
        case validValues([String])
    }

    /// The errors of one element of a bulk request.
    public struct ItemErrors: Sendable, Equatable, Codable {
        public var index: Int
        public var errors: [FieldError]

        public init(index: Int, errors: [FieldError]) {
            self.index = index
            self.errors = errors
        }
    }

    public init(_ kind: Kind, code: String, message: String, details: Details? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { "\(code): \(message)" }

    public static func validation(_ errors: [FieldError]) -> AppError {
        let summary = errors.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        return AppError(.validation, code: "validation_failed", message: summary, details: .fields(errors))
    }

    public static func eventNotFound(_ id: Int64) -> AppError {
        AppError(.notFound, code: "event_not_found", message: "no event with id \(id)")
    }

    /// What a caller is told of an error that is not an `AppError` (a bug, or a failure nobody
    /// anticipated): nothing about its cause, which goes to the log instead.
    public static let internalError = AppError(.internalError, code: "internal_error", message: "internal server error")

    public static func badParameter(_ name: String, _ value: String, expected: String) -> AppError {
        AppError(
            .badRequest, code: "invalid_parameter",
            message: "query parameter '\(name)' has invalid value '\(value.prefix(100))': expected \(expected)",
            details: .fields([FieldError(field: name, code: "invalid", message: "expected \(expected)")])
        )
    }
}
