import EventManagerCore
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
        case .conflict: .conflict
        case .preconditionFailed: .preconditionFailed
        case .gone: .gone
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .validation: .unprocessableContent
        case .tooManyRequests: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }

    /// Client mistakes are routine: logged at debug so they cannot flood the log; an unavailable
    /// dependency is worth a warning, a bug an error.
    public var logLevel: Logger.Level {
        switch kind {
        case .internalError: .error
        case .unavailable: .warning
        default: .debug
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [:]
        if kind == .unauthorized {
            headers[.wwwAuthenticate] = "Bearer realm=\"event-manager\""
        }
        if let retryAfterSeconds {
            headers[.retryAfter] = String(retryAfterSeconds)
        }
        if kind == .payloadTooLarge {
            // The rest of the body is not read; the connection cannot carry another request.
            headers[.connection] = "close"
        }
        return Response.error(status: status, headers: headers) { $0.error(self) }
    }
}

/// A failure of the HTTP exchange itself rather than of the service's rules (a method the path
/// does not serve), answered with the same JSON error body.
struct HTTPProtocolError: HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    var headers: HTTPFields = [:]

    static func methodNotAllowed(_ method: HTTPRequest.Method, path: String, allowed: [String]) -> HTTPProtocolError {
        HTTPProtocolError(
            status: .methodNotAllowed, code: "method_not_allowed",
            message: "\(method.rawValue) is not allowed on \(path); allowed: \(allowed.joined(separator: ", "))",
            headers: [.allow: allowed.joined(separator: ", ")])
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response.error(status: status, headers: headers) { $0.error(code: code, message: message) }
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
}

extension Response {
    /// An error answer: the JSON error body `write` produces, with `headers`.
    static func error(status: HTTPResponse.Status, headers: HTTPFields, _ write: (inout JSONWriter) -> Void) -> Response {
        var response = Response.json(status: status, write)
        response.headers.append(contentsOf: headers)
        return response
    }
}
