import EventManagerCore
import HTTPTypes
import Hummingbird

/// Refuses requests HTTP/1.1 itself forbids or this server cannot honour, before any route
/// sees them (RFC 9112):
/// - no `Host`, or more than one: 400, since the request's target is ambiguous;
/// - a transfer coding other than `chunked` (`gzip, chunked`): 501, since ignoring it would
///   read a compressed body as plain;
/// - `CONNECT`: 501 with `Connection: close`, since a tunnel is not a resource here and a
///   client would otherwise wait for a body that CONNECT answers do not delimit.
struct ProtocolMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .connect {
            throw HTTPProtocolError(
                status: .notImplemented, code: "method_not_implemented", message: "CONNECT is not supported: this is not a proxy",
                headers: [.connection: "close"])
        }
        if request.head.authority == nil || request.headers[values: .host].count > 0 {
            throw HTTPProtocolError(
                status: .badRequest, code: "bad_host", message: "a request must carry exactly one Host header (RFC 9112, section 3.2)",
                headers: [.connection: "close"])
        }
        if let codings = request.headers[.transferEncoding],
            codings.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) != ["chunked"]
        {
            throw HTTPProtocolError(
                status: .notImplemented, code: "unsupported_transfer_coding",
                message: "Transfer-Encoding '\(codings.prefix(64))' is not supported; send the body as is or chunked",
                headers: [.connection: "close"])
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let host = HTTPField.Name("Host")!
}
