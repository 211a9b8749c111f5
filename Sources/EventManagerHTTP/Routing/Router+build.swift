import EventManagerCore
import EventManagerMetrics
import Hummingbird
import Logging

/// What the API's controllers are built on: the repositories and services each depends on, as
/// protocols, so tests and every node role can supply their own.
public struct APIDependencies: Sendable {
    public var events: any EventRepository
    public var subscriptions: any SubscriptionRepository
    /// Accounts and keys; nil serves no account routes and authenticates nobody.
    public var accounts: (any AccountRepository)?
    /// The reminder ledger; nil serves no delivery routes.
    public var deliveries: (any DeliveryLedger)?
    /// Where `Idempotency-Key`s are kept; nil ignores the header.
    public var idempotency: (any IdempotencyStore)?
    /// The change feed of `GET /events/changes`; nil serves no such route.
    public var changes: (any EventChangeFeed)?
    /// Webhook endpoints and their logs; nil serves no webhook routes.
    public var webhooks: (any WebhookRepository)?
    /// Cancelled events and personal calendars; nil serves no calendar routes.
    public var calendars: (any CalendarRepository)?
    public var limiters: RateLimiters
    public var clock: any WallClock
    /// Called after a write that may have scheduled mail has committed, to wake the worker.
    public var queueChanged: @Sendable () -> Void

    public init(
        events: any EventRepository, subscriptions: any SubscriptionRepository, accounts: (any AccountRepository)?,
        deliveries: (any DeliveryLedger)? = nil, idempotency: (any IdempotencyStore)? = nil, changes: (any EventChangeFeed)? = nil,
        webhooks: (any WebhookRepository)? = nil, calendars: (any CalendarRepository)? = nil, limiters: RateLimiters,
        clock: any WallClock,
        queueChanged: @escaping @Sendable () -> Void = {}
    ) {
        self.events = events
        self.subscriptions = subscriptions
        self.accounts = accounts
        self.deliveries = deliveries
        self.idempotency = idempotency
        self.changes = changes
        self.webhooks = webhooks
        self.calendars = calendars
        self.limiters = limiters
        self.clock = clock
        self.queueChanged = queueChanged
    }
}

/// What the HTTP layer needs besides its dependencies.
public struct RouterSettings: Sendable {
    public var limits = APILimits()
    public var defaultReminderMinutes: Int64 = 30
    public var authMode: AuthMode
    /// Counts requests and serves `/metrics` when set.
    public var metrics: AppMetrics?
    /// Asked by `/ready` after the database.
    public var readiness: [ReadinessCheck] = []
    /// Timeouts, connection limits and who may read `/metrics`.
    public var server = ServerSettings()
    public var idempotency = IdempotencySettings()
    /// Which webhook URLs may be registered (`webhooks.allow_private`).
    public var webhookPolicy = WebhookAddressPolicy()
    /// Links and UIDs of calendars and pages.
    public var calendar = CalendarSettings()

    public init(
        limits: APILimits = APILimits(), defaultReminderMinutes: Int64 = 30, authMode: AuthMode = .disabled, metrics: AppMetrics? = nil,
        readiness: [ReadinessCheck] = [], server: ServerSettings = ServerSettings(),
        idempotency: IdempotencySettings = IdempotencySettings(), webhookPolicy: WebhookAddressPolicy = WebhookAddressPolicy(),
        calendar: CalendarSettings = CalendarSettings()
    ) {
        self.calendar = calendar
        self.idempotency = idempotency
        self.webhookPolicy = webhookPolicy
        self.limits = limits
        self.defaultReminderMinutes = defaultReminderMinutes
        self.authMode = authMode
        self.metrics = metrics
        self.readiness = readiness
        self.server = server
    }
}

/// The router of an API node: every route, behind the request log, the rate limits and authentication.
public func buildRouter(_ dependencies: APIDependencies, settings: RouterSettings, logger: Logger) -> Router<AppRequestContext> {
    let routes = apiRoutes(dependencies, settings: settings)
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestLogMiddleware(logger: logger, metrics: settings.metrics))
    let templates = try? PageTemplates.shared.get()
    router.add(middleware: ErrorMiddleware(methods: routes.methodIndex, templates: templates))
    router.add(middleware: ProtocolMiddleware())
    // Limits by address come before authentication: a bad key is counted, and past the limit it costs no database query.
    router.add(
        middleware: RateLimitMiddleware(
            limiters: dependencies.limiters, clock: dependencies.clock, stage: .beforeAuthentication, templates: templates))
    if let accounts = dependencies.accounts {
        router.add(middleware: AuthMiddleware(authenticator: accounts, clock: dependencies.clock))
        router.add(
            middleware: RateLimitMiddleware(
                limiters: dependencies.limiters, clock: dependencies.clock, stage: .afterAuthentication, templates: templates))
    }
    routes.register(on: router)
    return router
}

/// Fails when the executable was installed without its resources (the OpenAPI document, the
/// page templates), so that a broken install stops at start, not at the first request.
public func checkHTTPResources() throws {
    _ = try OpenAPIDocument.json()
    _ = try PageTemplates.shared.get()
}

/// Every route of the API, before registration (the OpenAPI test compares them with the document).
func apiRoutes(_ dependencies: APIDependencies, settings: RouterSettings) -> RouteTable {
    let access = Access(mode: settings.authMode)
    let routes = RouteTable()
    // Wraps the writes' handlers, after authentication: a key belongs to the account that sent it.
    routes.idempotency = dependencies.idempotency.map { store in
        IdempotencyHandler(
            store: store, settings: settings.idempotency, clock: dependencies.clock, maxBodyBytes: settings.limits.maxBodyBytes,
            trustedProxies: dependencies.limiters.settings.trustedProxies, keysRequired: settings.authMode == .required)
    }
    let events = dependencies.events
    HealthController(
        checks: [databaseCheck { try await events.ping() }] + settings.readiness, metrics: settings.metrics,
        metricsClients: metricsClients(settings.server)
    ).addRoutes(to: routes)
    OpenAPIController().addRoutes(to: routes)
    EventController(
        repository: events, clock: dependencies.clock, limits: settings.limits, access: access, queueChanged: dependencies.queueChanged
    ).addRoutes(to: routes)
    let subscriptions = SubscriptionController(
        repository: dependencies.subscriptions, clock: dependencies.clock, limits: settings.limits,
        defaultMinutes: settings.defaultReminderMinutes, limiters: dependencies.limiters, access: access,
        eventOwner: { try await events.find(id: $0) }, queueChanged: dependencies.queueChanged,
        templates: try? PageTemplates.shared.get()
    )
    subscriptions.addRoutes(to: routes)
    if let templates = try? PageTemplates.shared.get() {
        PageController(
            events: events, subscriptions: subscriptions, templates: templates, clock: dependencies.clock, calendar: settings.calendar
        ).addRoutes(to: routes)
    }
    if let feed = dependencies.changes { EventChangesController(feed: feed).addRoutes(to: routes) }
    if let deliveries = dependencies.deliveries {
        DeliveryController(
            ledger: deliveries, clock: dependencies.clock, access: access, event: { try await events.find(id: $0) },
            queueChanged: dependencies.queueChanged
        ).addRoutes(to: routes)
    }
    if let calendars = dependencies.calendars {
        CalendarController(events: events, calendars: calendars, clock: dependencies.clock, settings: settings.calendar)
            .addRoutes(to: routes)
    }
    if let webhooks = dependencies.webhooks {
        WebhookController(
            repository: webhooks, clock: dependencies.clock, limits: settings.limits, policy: settings.webhookPolicy,
            queueChanged: dependencies.queueChanged
        ).addRoutes(to: routes)
    }
    if let accounts = dependencies.accounts {
        AccountController(store: accounts, access: access, clock: dependencies.clock, limits: settings.limits).addRoutes(to: routes)
    }
    return routes
}

/// The router of a worker node: `/health`, `/ready` and `/metrics`, no API.
public func buildWorkerRouter(
    readiness: [ReadinessCheck], metrics: AppMetrics?, server: ServerSettings = ServerSettings(), logger: Logger
) -> Router<AppRequestContext> {
    let routes = RouteTable()
    HealthController(checks: readiness, metrics: metrics, metricsClients: metricsClients(server)).addRoutes(to: routes)
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestLogMiddleware(logger: logger, metrics: metrics))
    router.add(middleware: ErrorMiddleware(methods: routes.methodIndex))
    router.add(middleware: ProtocolMiddleware())
    routes.register(on: router)
    return router
}

/// `metrics.allowed_clients` as a matcher; configuration has validated the list, and an invalid
/// one (built in code) lets nobody in.
private func metricsClients(_ server: ServerSettings) -> AddressMatcher {
    (try? AddressMatcher.parse(server.metricsAllowedClients).get()) ?? .nobody
}

/// The readiness check of the database, asked through `ping`.
public func databaseCheck(_ ping: @escaping @Sendable () async throws -> Void) -> ReadinessCheck {
    ReadinessCheck(name: "database", errorCode: "database_unavailable", failure: "the database does not answer", probe: ping)
}
