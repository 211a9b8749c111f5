import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the router over any repository: the seam tests use to run without a network.
public func buildRouter<Repository: EventRepository>(
    repository: Repository, clock: any WallClock, limits: APILimits, logger: Logger
) -> Router<AppRequestContext> {
    buildRoutes(repository: repository, clock: clock, limits: limits, logger: logger).router
}

func buildRoutes<Repository: EventRepository>(
    repository: Repository, clock: any WallClock, limits: APILimits, logger: Logger
) -> (routes: RouteTable, router: Router<AppRequestContext>) {
    let routes = RouteTable()
    HealthController(repository: repository).addRoutes(to: routes)
    OpenAPIController().addRoutes(to: routes)
    EventController(repository: repository, clock: clock, limits: limits).addRoutes(to: routes)
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestLogMiddleware(logger: logger, methods: routes.methodIndex))
    routes.register(on: router)
    return (routes, router)
}

/// Opens the database, applies migrations and assembles the HTTP application.
///
/// The returned application owns the database: it closes it after the server has drained.
public func buildApplication(
    configuration: AppConfiguration, clock: any WallClock = SystemWallClock(), logger: Logger? = nil
) async throws -> some ApplicationProtocol {
    var logger = logger ?? Logger(label: "event-manager")
    logger.logLevel = configuration.logLevel
    let store = try DatabaseStore(url: configuration.database, logger: logger)
    do {
        try await store.migrate()
    } catch {
        await store.shutdown()
        throw error
    }
    // One SQLite process is the only writer, so its reads can be served from memory.
    let repository = CachedEventRepository(base: SQLEventRepository(store: store))
    let router = buildRouter(repository: repository, clock: clock, limits: configuration.limits, logger: logger)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "event-manager"),
        services: [DatabaseService(store: store)],
        logger: logger
    )
}

/// Keeps the database open while the service group runs and closes it on shutdown.
struct DatabaseService: Service {
    let store: DatabaseStore

    func run() async throws {
        try? await gracefulShutdown()
        await store.shutdown()
    }
}
