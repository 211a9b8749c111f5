import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Gives every request an id, turns every error into the JSON error body, logs one line and
/// counts the request in the metrics.
///
/// Sitting outermost, it sees the final status of every request, including unknown routes and
/// errors no handler caught. Unknown errors are logged in full and answered with a bare 500.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let logger: Logger
    let methods: MethodIndex
    let metrics: AppMetrics?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let requestID = Self.requestID(from: request.headers[.xRequestID])
        context.requestID = requestID
        var response: Response
        var logLevel = Logger.Level.info
        do {
            response = try await next(request, context)
        } catch let error as AppError {
            response = try error.response(from: request, context: context)
        } catch let error as HTTPError {
            var appError = AppError.from(httpError: error)
            if error.status == .notFound, let allowed = methods.allowedMethods(for: request.uri.path) {
                appError = AppError(
                    .methodNotAllowed(allowed: allowed), code: "method_not_allowed",
                    message: "\(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", "))"
                )
            }
            response = try appError.response(from: request, context: context)
        } catch {
            logLevel = .error
            logger.error(
                "unhandled error",
                metadata: [
                    "request_id": .string(requestID), "error": .string(String(reflecting: error)), "path": .string(request.uri.path),
                ]
            )
            var writer = JSONWriter()
            writer.error(AppError.internalError)
            response = Response(
                status: .internalServerError, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes))
            )
        }
        response.headers[.xRequestID] = requestID
        let elapsed = ContinuousClock.now - start
        if let metrics {
            metrics.recordRequest(
                route: context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched", method: request.method.rawValue,
                status: response.status.code,
                nanoseconds: elapsed.totalNanoseconds
            )
        }
        if logger.logLevel <= logLevel {
            let micros = elapsed.totalNanoseconds / 1000
            logger.log(
                level: logLevel, "request",
                metadata: [
                    "method": .string(request.method.rawValue), "path": .string(request.uri.path),
                    "status": .stringConvertible(response.status.code),
                    "duration_ms": .string(formatMillis(micros)), "request_id": .string(requestID),
                ]
            )
        }
        return response
    }

    /// Uses the client's id when it is short and printable, so ids can be followed across services.
    static func requestID(from header: String?) -> String {
        if let header, !header.isEmpty, header.utf8.count <= 128,
            header.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        {
            return header
        }
        return RequestID().description
    }
}

private func formatMillis(_ micros: Int64) -> String {
    let millis = micros / 1000
    let fraction = micros % 1000
    return "\(millis)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-ID")!
    static let link = HTTPField.Name("Link")!
}
