import Hummingbird
import Logging
import ServiceLifecycle

/// What the HTTP layer needs besides its repositories.
public struct RouterSettings: Sendable {
    public var limits = APILimits()
    public var defaultReminderMinutes: Int64 = 30
    public var rateLimits: RateLimitSettings

    public init(limits: APILimits = APILimits(), defaultReminderMinutes: Int64 = 30, rateLimits: RateLimitSettings = .disabled) {
        self.limits = limits
        self.defaultReminderMinutes = defaultReminderMinutes
        self.rateLimits = rateLimits
    }
}

/// Builds the router over any repositories: the seam tests use to run without a network.
///
/// - Parameter queueChanged: called after a write that may have scheduled mail has committed.
public func buildRouter<Events: EventRepository, Subscriptions: SubscriptionRepository>(
    events: Events, subscriptions: Subscriptions, clock: any WallClock, settings: RouterSettings = RouterSettings(), logger: Logger,
    queueChanged: @escaping @Sendable () -> Void = {}
) -> Router<AppRequestContext> {
    buildRoutes(events: events, subscriptions: subscriptions, clock: clock, settings: settings, logger: logger, queueChanged: queueChanged)
        .router
}

func buildRoutes<Events: EventRepository, Subscriptions: SubscriptionRepository>(
    events: Events, subscriptions: Subscriptions, clock: any WallClock, settings: RouterSettings, logger: Logger,
    queueChanged: @escaping @Sendable () -> Void
) -> (routes: RouteTable, router: Router<AppRequestContext>) {
    let routes = RouteTable()
    let limiters = RateLimiters(settings: settings.rateLimits)
    HealthController(repository: events).addRoutes(to: routes)
    OpenAPIController().addRoutes(to: routes)
    EventController(repository: events, clock: clock, limits: settings.limits, queueChanged: queueChanged).addRoutes(to: routes)
    SubscriptionController(
        repository: subscriptions, clock: clock, limits: settings.limits, defaultMinutes: settings.defaultReminderMinutes,
        limiters: limiters, queueChanged: queueChanged
    ).addRoutes(to: routes)
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestLogMiddleware(logger: logger, methods: routes.methodIndex))
    router.add(middleware: RateLimitMiddleware(limiters: limiters, clock: clock))
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
    let reminders = SQLReminderStore(store: store, settings: configuration.reminders)
    // One SQLite process is the only writer, so its reads can be served from memory.
    let events = CachedEventRepository(base: SQLEventRepository(store: store, observer: reminders))
    let worker = ReminderWorker(
        queue: reminders, transport: makeMailTransport(configuration, logger: logger),
        messages: ReminderMessages(sender: configuration.smtpDefaultSender, publicURL: configuration.effectivePublicURL), clock: clock,
        settings: configuration.worker, owner: WorkerIdentity.make(), logger: logger
    )
    let router = buildRouter(
        events: events, subscriptions: reminders, clock: clock,
        settings: RouterSettings(
            limits: configuration.limits, defaultReminderMinutes: configuration.reminders.defaultMinutes,
            rateLimits: configuration.rateLimits
        ),
        logger: logger, queueChanged: { [wakeup = worker.wakeup] in wakeup.signal() }
    )
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "event-manager"),
        services: [DatabaseService(store: store), worker],
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

/// The transport `mail.transport` names.
func makeMailTransport(_ configuration: AppConfiguration, logger: Logger) -> any MailTransport {
    switch configuration.mailTransport {
    case .log: LogMailTransport(logger: logger)
    case .file: FileMailTransport(directory: configuration.mailDirectory)
    case .smtp: SMTPTransport(configuration: configuration.smtp, logger: logger)
    }
}
