import Hummingbird
import Logging
import NIOCore

extension AppError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch kind {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .validation: .unprocessableContent
        case .tooManyRequests: .tooManyRequests
        case .unavailable: .serviceUnavailable
        }
    }

    /// Client mistakes are routine: logged at debug so they cannot flood the log; an unavailable
    /// dependency is worth a warning.
    public var logLevel: Logger.Level {
        kind == .unavailable ? .warning : .debug
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var writer = JSONWriter()
        writer.error(self)
        var headers: HTTPFields = [.contentType: "application/json"]
        if case .methodNotAllowed(let allowed) = kind {
            headers[.allow] = allowed.joined(separator: ", ")
        }
        if kind == .unauthorized {
            headers[.wwwAuthenticate] = "Bearer realm=\"event-manager\""
        }
        if let retryAfterSeconds {
            headers[.retryAfter] = String(retryAfterSeconds)
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}

extension AppError {
    /// Translates errors Hummingbird raises itself (unknown route, body too large) into ours.
    static func from(httpError: HTTPError) -> AppError {
        switch httpError.status {
        case .notFound:
            AppError(.notFound, code: "not_found", message: "no such route")
        case .contentTooLarge:
            AppError(.payloadTooLarge, code: "body_too_large", message: "request body is too large")
        default:
            AppError(.badRequest, code: "bad_request", message: httpError.body ?? httpError.status.reasonPhrase)
        }
    }

    static let internalError = AppError(.unavailable, code: "internal_error", message: "internal server error")
}
