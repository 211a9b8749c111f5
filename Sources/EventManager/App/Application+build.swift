import Hummingbird
import Logging
import ServiceLifecycle

/// What the HTTP layer needs besides its repositories.
public struct RouterSettings: Sendable {
    public var limits = APILimits()
    public var defaultReminderMinutes: Int64 = 30
    public var rateLimits: RateLimitSettings
    public var authMode: AuthMode

    public init(
        limits: APILimits = APILimits(), defaultReminderMinutes: Int64 = 30, rateLimits: RateLimitSettings = .disabled,
        authMode: AuthMode = .disabled
    ) {
        self.limits = limits
        self.defaultReminderMinutes = defaultReminderMinutes
        self.rateLimits = rateLimits
        self.authMode = authMode
    }
}

/// Builds the router over any repositories: the seam tests use to run without a network.
///
/// - Parameter queueChanged: called after a write that may have scheduled mail has committed.
public func buildRouter<Events: EventRepository, Subscriptions: SubscriptionRepository>(
    events: Events, subscriptions: Subscriptions, accounts: SQLAccountStore? = nil, clock: any WallClock,
    settings: RouterSettings = RouterSettings(), logger: Logger, queueChanged: @escaping @Sendable () -> Void = {}
) -> Router<AppRequestContext> {
    buildRoutes(
        events: events, subscriptions: subscriptions, accounts: accounts, clock: clock, settings: settings, logger: logger,
        queueChanged: queueChanged
    ).router
}

func buildRoutes<Events: EventRepository, Subscriptions: SubscriptionRepository>(
    events: Events, subscriptions: Subscriptions, accounts: SQLAccountStore?, clock: any WallClock, settings: RouterSettings,
    logger: Logger, queueChanged: @escaping @Sendable () -> Void
) -> (routes: RouteTable, router: Router<AppRequestContext>) {
    let access = Access(mode: settings.authMode)
    let routes = RouteTable()
    let limiters = RateLimiters(settings: settings.rateLimits)
    HealthController(repository: events).addRoutes(to: routes)
    OpenAPIController().addRoutes(to: routes)
    EventController(repository: events, clock: clock, limits: settings.limits, access: access, queueChanged: queueChanged)
        .addRoutes(to: routes)
    SubscriptionController(
        repository: subscriptions, clock: clock, limits: settings.limits, defaultMinutes: settings.defaultReminderMinutes,
        limiters: limiters, access: access, eventOwner: { try await events.find(id: $0) }, queueChanged: queueChanged
    ).addRoutes(to: routes)
    if let accounts {
        AccountController(store: accounts, access: access, clock: clock, limits: settings.limits).addRoutes(to: routes)
    }
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestLogMiddleware(logger: logger, methods: routes.methodIndex))
    if let accounts {
        router.add(middleware: AuthMiddleware(authenticator: accounts, clock: clock))
    }
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
    if configuration.authMode == .disabled {
        logger.warning("auth.mode is disabled: anyone can change and delete every event; use this only for local experiments")
    }
    let router = buildRouter(
        events: events, subscriptions: reminders, accounts: SQLAccountStore(store: store), clock: clock,
        settings: RouterSettings(
            limits: configuration.limits, defaultReminderMinutes: configuration.reminders.defaultMinutes,
            rateLimits: configuration.rateLimits, authMode: configuration.authMode
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
