import EventManagerCore
import Hummingbird

/// Every route of the API, collected before any is registered.
///
/// Knowing the full table up front lets the router answer 405 with an `Allow` header for a known
/// path requested with any other method (even one no router knows, like `QUERY`), and lets tests
/// compare the routes with the OpenAPI document.
final class RouteTable {
    typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response
    private(set) var routes: [(method: HTTPRequest.Method, path: String, isPublic: Bool, handler: Handler)] = []
    /// Routes of the HTML pages and their assets: not part of the JSON API's OpenAPI document.
    private(set) var pagePaths: Set<String> = []
    /// Wraps the handlers of writes when set: `Idempotency-Key`.
    var idempotency: IdempotencyHandler?

    /// - Parameter isPublic: whether anyone may call it without an API key (subscribing).
    func add(_ method: HTTPRequest.Method, _ path: String, isPublic: Bool = false, handler: @escaping Handler) {
        routes.append((method, path, isPublic, handler))
    }

    /// A route of the HTML pages, left out of the OpenAPI document.
    func addPage(_ method: HTTPRequest.Method, _ path: String, isPublic: Bool = false, handler: @escaping Handler) {
        pagePaths.insert(path)
        add(method, path, isPublic: isPublic, handler: handler)
    }

    /// The methods each path serves, for 405 answers.
    var methodIndex: MethodIndex {
        var index = MethodIndex()
        for route in routes { index.add(route.method, route.path) }
        return index
    }

    func register(on router: Router<AppRequestContext>) {
        for route in routes {
            var handler = route.handler
            if let idempotency, [.post, .put, .patch, .delete].contains(route.method) {
                let (wrapped, isPublic) = (route.handler, route.isPublic)
                handler = { request, context in
                    try await idempotency.handle(request, context: context, isPublic: isPublic, next: wrapped)
                }
            }
            router.on(RouterPath(route.path), method: route.method, use: handler)
        }
    }

    /// `METHOD path` for every route, in the OpenAPI path syntax (`{id}`).
    var documentedForm: Set<String> {
        Set(
            routes.filter { !pagePaths.contains($0.path) }.map { route in
                let path = route.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                return "\(route.method.rawValue) /\(path.joined(separator: "/"))"
            }
        )
    }
}

/// Which methods a request path supports, matching `:parameter` and `{parameter}.suffix`
/// segments like the router does.
struct MethodIndex: Sendable {
    /// One segment of a route: a literal, or a parameter that ends with `suffix` ("" for `:id`).
    enum Segment: Equatable, Sendable {
        case literal(Substring)
        case parameter(suffix: Substring)

        init(_ text: Substring) {
            if text.hasPrefix(":") {
                self = .parameter(suffix: "")
            } else if text.hasPrefix("{"), let close = text.firstIndex(of: "}") {
                self = .parameter(suffix: text[text.index(after: close)...])
            } else {
                self = .literal(text)
            }
        }

        func matches(_ part: Substring) -> Bool {
            switch self {
            case .literal(let literal): literal == part
            case .parameter(let suffix): part.hasSuffix(suffix) && part.count > suffix.count
            }
        }

        /// How specific: a literal beats a parameter with a suffix, which beats a bare one.
        var weight: Int {
            switch self {
            case .literal: 2
            case .parameter(let suffix): suffix.isEmpty ? 0 : 1
            }
        }
    }

    private var entries: [(segments: [Segment], methods: [String])] = []
    private static let order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

    mutating func add(_ method: HTTPRequest.Method, _ path: String) {
        let segments = path.split(separator: "/").map(Segment.init)
        var methods = [method.rawValue] + (method == .get ? ["HEAD"] : [])
        if let index = entries.firstIndex(where: { $0.segments == segments }) {
            methods += entries[index].methods
            entries[index].methods = Self.order.filter(methods.contains)
        } else {
            entries.append((segments, Self.order.filter(methods.contains)))
        }
    }

    /// The methods allowed on `path`, or nil when no route has that shape. A literal segment
    /// wins over a parameter, as in the router: `/events/changes` is not `/events/{id}`.
    func allowedMethods(for path: String) -> [String]? {
        let parts = path.split(separator: "/")
        let matching = entries.filter { entry in
            entry.segments.count == parts.count && zip(entry.segments, parts).allSatisfy { $0.0.matches($0.1) }
        }
        return matching.max { $0.segments.map(\.weight).reduce(0, +) < $1.segments.map(\.weight).reduce(0, +) }?.methods
    }
}
