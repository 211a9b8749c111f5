import Hummingbird

/// Records every route as it is added, so that the router can answer 405 with an `Allow` header
/// for a known path with an unsupported method, and tests can compare the routes with the
/// OpenAPI document.
final class RouteTable {
    private(set) var routes: [(path: String, method: HTTPRequest.Method)] = []
    let router: Router<AppRequestContext>

    init(router: Router<AppRequestContext>) {
        self.router = router
    }

    func add(
        _ method: HTTPRequest.Method, _ path: String,
        handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response
    ) {
        routes.append((path, method))
        router.on(RouterPath(path), method: method, use: handler)
    }

    /// Adds a 405 responder for every method a path does not serve.
    func addMethodNotAllowedResponders() {
        var byPath: [String: [HTTPRequest.Method]] = [:]
        var order: [String] = []
        for route in routes {
            if byPath[route.path] == nil { order.append(route.path) }
            byPath[route.path, default: []].append(route.method)
        }
        let all: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options, .trace, .connect]
        for path in order {
            var served = byPath[path]!
            if served.contains(.get) { served.append(.head) }
            let allowed = all.filter { served.contains($0) }.map(\.rawValue)
            for method in all where !served.contains(method) {
                router.on(RouterPath(path), method: method) { request, _ -> Response in
                    throw AppError(
                        .methodNotAllowed(allowed: allowed), code: "method_not_allowed",
                        message: "\(request.method.rawValue) is not allowed on \(path); allowed: \(allowed.joined(separator: ", "))"
                    )
                }
            }
        }
    }

    /// `METHOD path` for every route, in the OpenAPI path syntax (`{id}`).
    var documentedForm: Set<String> {
        Set(routes.map { "\($0.method.rawValue) \($0.path.replacingOccurrences(of: ":id", with: "{id}").replacingOccurrences(of: ":field", with: "{field}"))" })
    }
}
