import EventManagerCore
import Hummingbird

/// Serves the OpenAPI document that describes every route.
struct OpenAPIController: Sendable {
    func addRoutes(to routes: RouteTable) {
        routes.add(.get, "/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: .init(string: try OpenAPIDocument.json()))
            )
        }
    }
}
