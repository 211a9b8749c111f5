import Hummingbird
import Logging
import ServiceLifecycle

/// What the HTTP layer needs besides its repositories.
public struct RouterSettings: Sendable {
    public var limits = APILimits()
    public var defaultReminderMinutes: Int64 = 30
    public var rateLimits: RateLimitSettings
    public var authMode: AuthMode
    /// Counts requests and serves `/metrics` when set.
    public var metrics: AppMetrics?
    /// Asked by `/ready` after the database.
    public var readiness: [ReadinessCheck] = []

    public init(
        limits: APILimits = APILimits(), defaultReminderMinutes: Int64 = 30, rateLimits: RateLimitSettings = .disabled,
        authMode: AuthMode = .disabled, metrics: AppMetrics? = nil
    ) {
        self.limits = limits
        self.defaultReminderMinutes = defaultReminderMinutes
        self.rateLimits = rateLimits
        self.authMode = authMode
        self.metrics = metrics
    }
}

/// Builds the router over any repositories: the seam tests use to run without a network.
///
/// - Parameters:
///   - limiters: the rate limiters; in this process's memory when nil.
///   - queueChanged: called after a write that may have scheduled mail has committed.
public func buildRouter<Events: EventRepository, Subscriptions: SubscriptionRepository>(
    events: Events, subscriptions: Subscriptions, accounts: SQLAccountStore? = nil, clock: any WallClock,
    settings: RouterSettings = RouterSettings(), limiters: RateLimiters? = nil, logger: Logger,
    queueChanged: @escaping @Sendable () -> Void = {}
) -> Router<AppRequestContext> {
    buildRoutes(
        events: events, subscriptions: subscriptions, accounts: accounts, clock: clock, settings: settings,
        limiters: limiters ?? RateLimiters(settings: settings.rateLimits, logger: logger), logger: logger, queueChanged: queueChanged
    ).router
}

func buildRoutes<Events: EventRepository, Subscriptions: SubscriptionRepository>(
    events: Events, subscriptions: Subscriptions, accounts: SQLAccountStore?, clock: any WallClock, settings: RouterSettings,
    limiters: RateLimiters, logger: Logger, queueChanged: @escaping @Sendable () -> Void
) -> (routes: RouteTable, router: Router<AppRequestContext>) {
    let access = Access(mode: settings.authMode)
    let routes = RouteTable()
    HealthController(checks: [databaseCheck { try await events.ping() }] + settings.readiness, metrics: settings.metrics)
        .addRoutes(to: routes)
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
    router.add(middleware: RequestLogMiddleware(logger: logger, methods: routes.methodIndex, metrics: settings.metrics))
    if let accounts {
        router.add(middleware: AuthMiddleware(authenticator: accounts, clock: clock))
    }
    router.add(middleware: RateLimitMiddleware(limiters: limiters, clock: clock))
    routes.register(on: router)
    return (routes, router)
}

/// The router of a worker node: `/health`, `/ready` and `/metrics`, no API.
public func buildWorkerRouter(readiness: [ReadinessCheck], metrics: AppMetrics?, logger: Logger) -> Router<AppRequestContext> {
    let routes = RouteTable()
    HealthController(checks: readiness, metrics: metrics).addRoutes(to: routes)
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestLogMiddleware(logger: logger, methods: routes.methodIndex, metrics: metrics))
    routes.register(on: router)
    return router
}

func databaseCheck(_ ping: @escaping @Sendable () async throws -> Void) -> ReadinessCheck {
    ReadinessCheck(name: "database", errorCode: "database_unavailable", failure: "the database does not answer", probe: ping)
}

/// Opens the database, applies migrations and assembles the application of `configuration.role`.
///
/// The returned application owns the database: it closes it after the server has drained.
public func buildApplication(
    configuration: AppConfiguration, clock: any WallClock = SystemWallClock(), logger: Logger? = nil
) async throws -> some ApplicationProtocol {
    var logger = logger ?? Logger(label: "event-manager")
    logger.logLevel = configuration.logLevel
    let role = configuration.role
    let store = try DatabaseStore(url: configuration.database, poolSize: configuration.poolSize, logger: logger)
    do {
        try await store.migrate()
    } catch {
        await store.shutdown()
        throw error
    }
    if store.isSQLite && role != .all {
        logger.warning(
            "app.role \(role.rawValue) on SQLite: a SQLite file serves one machine; run role all, or use PostgreSQL for several nodes")
    }
    var reminderSettings = configuration.reminders
    if !store.isSQLite {
        reminderSettings.notifyWithinMilliseconds = configuration.worker.pollInterval.totalMilliseconds
    }
    let metrics = AppMetrics()
    let reminders = SQLReminderStore(store: store, settings: reminderSettings)
    addStorageSamplers(metrics: metrics, store: store, reminders: reminders, logger: logger)
    let sqlEvents = SQLEventRepository(store: store, observer: reminders)
    let database = databaseCheck { try await sqlEvents.ping() }

    var services: [any Service] = [DatabaseService(store: store)]
    let wakeup = Wakeup()
    var workerChecks: [ReadinessCheck] = []
    if role.runsWorker {
        let transport = makeMailTransport(configuration, logger: logger)
        services.append(
            ReminderWorker(
                queue: reminders, transport: transport,
                messages: ReminderMessages(sender: configuration.smtpDefaultSender, publicURL: configuration.effectivePublicURL),
                clock: clock, settings: configuration.worker, owner: WorkerIdentity.make(), logger: logger, wakeup: wakeup, metrics: metrics
            )
        )
        if !store.isSQLite { services.append(QueueListener(store: store, wakeup: wakeup, logger: logger)) }
        if configuration.mailTransport == .smtp {
            workerChecks.append(
                ReadinessCheck(name: "smtp", errorCode: "smtp_unavailable", failure: "the SMTP server does not accept a session") {
                    try await transport.withSession { _ in }
                }.cached(seconds: 5, clock: clock)
            )
        }
    }

    let router: Router<AppRequestContext>
    if role.servesAPI {
        if configuration.authMode == .disabled {
            logger.warning("auth.mode is disabled: anyone can change and delete every event; use this only for local experiments")
        }
        var settings = RouterSettings(
            limits: configuration.limits, defaultReminderMinutes: configuration.reminders.defaultMinutes,
            rateLimits: configuration.rateLimits, authMode: configuration.authMode, metrics: metrics
        )
        settings.readiness = workerChecks
        // Limits in memory hold for one process; with PostgreSQL every node shares one budget.
        let limiters: RateLimiters
        if store.isSQLite {
            limiters = RateLimiters(settings: configuration.rateLimits, logger: logger)
        } else {
            limiters = RateLimiters(settings: configuration.rateLimits, logger: logger) { name, limits in
                SQLRateLimiter(store: store, scope: name, limits: limits)
            }
        }
        let runsWorker = role.runsWorker
        let queueChanged: @Sendable () -> Void = { if runsWorker { wakeup.signal() } }
        if store.isSQLite && role == .all {
            // The only writer of its database may serve reads from memory.
            router = buildRouter(
                events: CachedEventRepository(base: sqlEvents), subscriptions: reminders, accounts: SQLAccountStore(store: store),
                clock: clock, settings: settings, limiters: limiters, logger: logger, queueChanged: queueChanged
            )
        } else {
            router = buildRouter(
                events: sqlEvents, subscriptions: reminders, accounts: SQLAccountStore(store: store), clock: clock, settings: settings,
                limiters: limiters, logger: logger, queueChanged: queueChanged
            )
        }
    } else {
        router = buildWorkerRouter(readiness: [database] + workerChecks, metrics: metrics, logger: logger)
    }
    logger.info(
        "starting",
        metadata: [
            "role": .string(role.rawValue), "database": .string(configuration.database.redacted),
            "address": .string("\(configuration.host):\(configuration.port)"),
        ])
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "event-manager"),
        services: services,
        logger: logger
    )
}

/// Gauges read at each scrape: the queue by state and the connection pool.
func addStorageSamplers(metrics: AppMetrics, store: DatabaseStore, reminders: SQLReminderStore, logger: Logger) {
    let depth = DeliveryState.allCases.map { ($0, metrics.gauge("queue_depth", [("state", $0.rawValue)])) }
    let inUse = metrics.gauge("db_pool_connections_in_use")
    let size = metrics.gauge("db_pool_size")
    metrics.addSampler {
        size.record(store.poolSize)
        inUse.record(store.connectionsInUse)
        do {
            let counts = try await reminders.countsByState()
            for (state, gauge) in depth { gauge.record(counts[state] ?? 0) }
        } catch {
            logger.warning("queue depth not sampled", metadata: ["error": .string(String(describing: error))])
        }
    }
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
