import EventManagerCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// Turns every error into an answer with the JSON error body: `AppError`s as their kind says,
/// Hummingbird's own errors translated (an unknown method on a known path becomes 405 with
/// `Allow`), and anything else into a bare 500 whose cause goes only to the log.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let methods: MethodIndex
    /// Pages show their errors as pages; nil answers JSON everywhere.
    var templates: PageTemplates? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let response = try answer(error, request: request, context: context)
            guard let templates, PageController.isPage(request.uri.path) else { return response }
            return Self.page(for: error, answer: response, templates: templates)
        }
    }

    /// The same refusal as a page, keeping the JSON answer's status and headers (`Retry-After`, `Allow`).
    static func page(for error: any Error, answer: Response, templates: PageTemplates) -> Response {
        let status = answer.status
        let (title, text): (String, String)
        switch error {
        case _ where status == .tooManyRequests:
            (title, text) = ("Too many requests", "Too many requests came from your address. Please try again in a little while.")
        case let error as AppError where status.code < 500:
            (title, text) = (status == .notFound ? "Not found" : status.reasonPhrase, error.message)
        case _ where status == .notFound:
            (title, text) = ("Not found", "There is no page here.")
        case _ where status.code >= 500:
            (title, text) = ("Something went wrong", "The page could not be shown. Please try again in a moment.")
        default:
            (title, text) = (status.reasonPhrase, "The request could not be handled.")
        }
        var page = templates.message(title, text, status: status, bad: true, extra: ["back": "/", "back_label": "Upcoming events"])
        for field in answer.headers where page.headers[field.name] == nil && field.name != .contentType {
            page.headers.append(field)
        }
        return page
    }

    /// The JSON answer to an error.
    func answer(_ error: any Error, request: Request, context: Context) throws -> Response {
        do {
            throw error
        } catch let error as AppError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = methods.allowedMethods(for: request.uri.path) {
                return try HTTPProtocolError.methodNotAllowed(request.method, path: request.uri.path, allowed: allowed).response(
                    from: request, context: context)
            }
            return try AppError.from(httpError: error).response(from: request, context: context)
        } catch let error as HTTPProtocolError {
            return try error.response(from: request, context: context)
        } catch let error as RateLimitRefusal {
            return try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            // Hummingbird's own errors (a body over the limit, say) get our body too.
            let tooLarge = error.status == .contentTooLarge
            return try HTTPProtocolError(
                status: error.status, code: tooLarge ? "body_too_large" : "bad_request",
                message: tooLarge ? "the request body exceeds the limit" : error.status.reasonPhrase,
                headers: tooLarge ? [.connection: "close"] : [:]
            ).response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            // A chunked body grew past the limit while it was read.
            return try HTTPProtocolError(
                status: .contentTooLarge, code: "body_too_large", message: "the request body exceeds the limit",
                headers: [.connection: "close"]
            ).response(from: request, context: context)
        } catch let error as HTTPParserError {
            return try HTTPProtocolError(
                status: .badRequest, code: "malformed_request", message: "the request is not valid HTTP/1.1: \(error)",
                headers: [.connection: "close"]
            ).response(from: request, context: context)
        } catch  where Self.clientWentAway(error) {
            // Nobody reads this answer; it is logged and counted as the client's failure, not ours.
            context.logger.debug("the client closed the connection mid-request", metadata: ["error": .string(String(describing: error))])
            return try HTTPProtocolError(
                status: .badRequest, code: "incomplete_request", message: "the connection closed before the request was complete",
                headers: [.connection: "close"]
            ).response(from: request, context: context)
        } catch {
            context.logger.error(
                "unhandled error",
                metadata: [
                    "request_id": .string(context.requestID), "error": .string(String(reflecting: error)),
                    "path": .string(request.uri.path),
                ])
            return try AppError.internalError.response(from: request, context: context)
        }
    }

    /// Errors of a connection the client closed or reset while its request was being read.
    static func clientWentAway(_ error: any Error) -> Bool {
        if let error = error as? ChannelError {
            switch error {
            case .ioOnClosedChannel, .eof, .alreadyClosed, .outputClosed, .inputClosed: return true
            default: return false
            }
        }
        if let error = error as? IOError { return [ECONNRESET, EPIPE].contains(error.errnoCode) }
        return error is CancellationError
    }
}
