import Hummingbird

/// Liveness and readiness for load balancers and orchestrators.
struct HealthController<Repository: EventRepository>: Sendable {
    let repository: Repository

    func addRoutes(to routes: RouteTable) {
        routes.add(.get, "/health") { _, _ in Self.ok }
        routes.add(.get, "/ready") { _, context in
            do {
                try await repository.ping()
            } catch {
                context.logger.warning("readiness check failed", metadata: ["error": .string(String(describing: error))])
                throw AppError(.unavailable, code: "database_unavailable", message: "the database does not answer")
            }
            return Response.json { $0.raw("{\"status\":\"ready\",\"database\":\"ok\"}") }
        }
    }

    static var ok: Response { Response.json { $0.raw("{\"status\":\"ok\"}") } }
}

/// Serves the OpenAPI document that describes every route.
struct OpenAPIController: Sendable {
    func addRoutes(to routes: RouteTable) {
        routes.add(.get, "/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: .init(string: OpenAPIDocument.json))
            )
        }
    }
}
