import EventManagerCore
import EventManagerHTTP
import EventManagerMail
import EventManagerMetrics
import EventManagerStorage
import EventManagerWebhooks
import Hummingbird
import Logging
import ServiceLifecycle

/// What `buildApplication` takes besides the configuration: the seams tests (and embedders) use.
public struct AppDependencies: Sendable {
    /// "Now" for everything that stamps or schedules.
    public var clock: any WallClock
    /// Where mail goes; nil builds the transport `mail.transport` names.
    public var mailTransport: (any MailTransport)?
    public var logger: Logger
    /// Told the port once the server listens (`app.port` 0 picks one).
    public var onServerRunning: @Sendable (Int) async -> Void

    public init(
        clock: any WallClock = SystemWallClock(), mailTransport: (any MailTransport)? = nil, logger: Logger? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.clock = clock
        self.mailTransport = mailTransport
        self.logger = logger ?? Logger(label: "event-manager")
        self.onServerRunning = onServerRunning
    }
}

/// Opens the database, applies migrations and assembles the application of `configuration.role`:
/// `all` serves the API and runs the worker, `api` only serves, `worker` only sends (and answers
/// `/health`, `/ready` and `/metrics`).
///
/// The returned application owns the database: it closes it after the server has drained.
public func buildApplication(
    configuration: AppConfiguration, dependencies: AppDependencies = AppDependencies()
) async throws -> some ApplicationProtocol {
    var logger = dependencies.logger
    logger.logLevel = configuration.logLevel
    let role = configuration.role
    // Fail at start, not at the first request, when the executable was installed without its resources.
    try checkHTTPResources()
    let clock = dependencies.clock
    let store = try DatabaseStore(
        url: configuration.database, poolSize: configuration.poolSize, busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds,
        logger: logger)
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
    let queue = SQLDeliveryQueue(store: store)
    addStorageSamplers(metrics: metrics, store: store, queue: queue, logger: logger)
    let events = SQLEventRepository(store: store, reminders: reminderSettings)

    var services: [any Service] = [DatabaseService(store: store)]
    let wakeup = Wakeup()
    let webhookWakeup = Wakeup()
    var workerChecks: [ReadinessCheck] = []
    if role.runsWorker {
        let transport = dependencies.mailTransport ?? makeMailTransport(configuration, logger: logger)
        let owner = WorkerIdentity.make()
        let ledger: AcceptanceLedger
        do {
            ledger = try AcceptanceLedger(directory: configuration.effectiveLedgerDirectory, owner: owner)
        } catch {
            await store.shutdown()
            throw error
        }
        services.append(
            ReminderWorker(
                queue: queue, transport: transport,
                messages: ReminderMessages(sender: configuration.smtpDefaultSender, publicURL: configuration.effectivePublicURL),
                clock: clock, settings: configuration.worker, owner: owner, logger: logger, wakeup: wakeup, metrics: metrics,
                ledger: ledger
            )
        )
        services.append(
            WebhookDispatcher(
                queue: SQLWebhookStore(store: store),
                client: WebhookHTTPClient(
                    settings: WebhookClientSettings(
                        policy: configuration.webhooks.policy, timeout: .seconds(configuration.webhooks.timeoutSeconds),
                        caFile: configuration.webhooks.caFile)),
                clock: clock, settings: configuration.webhooks, owner: owner, logger: logger, wakeup: webhookWakeup, metrics: metrics))
        if !store.isSQLite { services.append(QueueListener(store: store, logger: logger) { wakeup.signal() }) }
        if configuration.mailTransport == .smtp && dependencies.mailTransport == nil {
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
        // The only writer of its database may serve reads from memory; a node sharing
        // PostgreSQL with others reuses them while the change counter stays put.
        let cachedEvents: any EventRepository
        if !store.isSQLite {
            cachedEvents = VersionedEventRepository(base: events)
        } else if role == .all {
            cachedEvents = CachedEventRepository(base: events)
        } else {
            cachedEvents = events
        }
        let api = APIDependencies(
            events: cachedEvents,
            subscriptions: SQLSubscriptionStore(store: store, settings: reminderSettings), accounts: SQLAccountStore(store: store),
            deliveries: SQLDeliveryLedger(store: store), idempotency: SQLIdempotencyStore(store: store), changes: events,
            webhooks: SQLWebhookStore(store: store), calendars: SQLCalendarStore(store: store), limiters: limiters, clock: clock,
            queueChanged: {
                if runsWorker {
                    wakeup.signal()
                    webhookWakeup.signal()
                }
            }
        )
        let settings = RouterSettings(
            limits: configuration.limits, defaultReminderMinutes: configuration.reminders.defaultMinutes,
            authMode: configuration.authMode, metrics: metrics, readiness: workerChecks, server: configuration.server,
            idempotency: configuration.idempotency, webhookPolicy: configuration.webhooks.policy,
            calendar: configuration.calendar
        )
        services.append(
            Housekeeping(
                idempotency: SQLIdempotencyStore(store: store), events: events, tombstoneRetention: configuration.tombstoneRetention,
                clock: clock, logger: logger))
        router = buildRouter(api, settings: settings, logger: logger)
    } else {
        router = buildWorkerRouter(
            readiness: [databaseCheck { try await events.ping() }] + workerChecks, metrics: metrics, server: configuration.server,
            logger: logger)
    }
    logger.info(
        "starting",
        metadata: [
            "role": .string(role.rawValue), "database": .string(configuration.database.redacted),
            "address": .string("\(configuration.host):\(configuration.port)"),
        ])
    return Application(
        router: router,
        server: .guardedHTTP1(configuration.server),
        configuration: .eventManager(host: configuration.host, port: configuration.port, settings: configuration.server, logger: logger),
        services: services,
        onServerRunning: { [onServerRunning = dependencies.onServerRunning] channel in
            await onServerRunning(channel.localAddress?.port ?? configuration.port)
        },
        logger: logger
    )
}

/// Gauges read at each scrape: the queue by state and the connection pool.
func addStorageSamplers(metrics: AppMetrics, store: DatabaseStore, queue: SQLDeliveryQueue, logger: Logger) {
    let depth = [DeliveryState.scheduled, .sending].map { ($0, metrics.gauge("queue_depth", [("state", $0.rawValue)])) }
    let inUse = metrics.gauge("db_pool_connections_in_use")
    let webhookBacklog = metrics.gauge("webhook_queue_depth")
    let webhooks = SQLWebhookStore(store: store)
    let size = metrics.gauge("db_pool_size")
    metrics.addSampler {
        size.record(store.poolSize)
        inUse.record(store.connectionsInUse)
        do {
            let counts = try await queue.countsByState()
            for (state, gauge) in depth { gauge.record(counts[state] ?? 0) }
            webhookBacklog.record(try await webhooks.backlog())
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
        // Closed even when the group is cancelled rather than shut down gracefully: the pools
        // must be shut down before they are released. An unstructured task does not inherit the
        // cancellation.
        await Task { await store.shutdown() }.value
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
