import EventManagerCore
import Hummingbird
import Logging

/// Turns every error into an answer with the JSON error body: `AppError`s as their kind says,
/// Hummingbird's own errors translated (an unknown method on a known path becomes 405 with
/// `Allow`), and anything else into a bare 500 whose cause goes only to the log.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let methods: MethodIndex

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as AppError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = methods.allowedMethods(for: request.uri.path) {
                return try HTTPProtocolError.methodNotAllowed(request.method, path: request.uri.path, allowed: allowed).response(
                    from: request, context: context)
            }
            return try AppError.from(httpError: error).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
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
}
