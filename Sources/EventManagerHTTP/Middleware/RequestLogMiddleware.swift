import EventManagerCore
import EventManagerMetrics
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Gives every request an id, logs one line and counts the request in the metrics.
///
/// Sitting outermost, it sees the final status of every request, including unknown routes and
/// errors no handler caught (`ErrorMiddleware`, just inside it, has turned them into answers).
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let logger: Logger
    let metrics: AppMetrics?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let requestID = Self.requestID(from: request.headers[.xRequestID])
        context.requestID = requestID
        var response = try await next(request, context)
        let logLevel: Logger.Level = response.status == .internalServerError ? .error : .info
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
