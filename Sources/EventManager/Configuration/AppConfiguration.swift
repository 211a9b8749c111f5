import Configuration
import EventManagerCore
import EventManagerHTTP
import EventManagerStorage
import Foundation
import Logging
import SystemPackage

/// Everything the service reads from `config.json`, the environment and the command line.
///
/// Read once at start; a value of the wrong type or out of range stops start-up with a message
/// naming its key, so a typo never silently falls back to a default.
public struct AppConfiguration: Sendable {
    public enum LogFormat: String, Sendable { case text, json }

    public var host = "127.0.0.1"
    public var port = 8000
    public var logLevel = Logger.Level.info
    public var logFormat = LogFormat.text
    public var database = DatabaseURL.sqliteFile(path: "data/event-manager.sqlite")
    /// Database connections this node opens at most (`db.pool_size`).
    public var poolSize = 10
    /// On SQLite, how long a write waits for another process's lock (`db.busy_timeout_ms`).
    public var busyTimeoutMilliseconds = 5000
    /// What this process does (`app.role`, or `serve --role`).
    public var role = NodeRole.all
    public var limits = APILimits()
    public var smtp = SMTPConfiguration()
    public var smtpDefaultSender = "event-manager@localhost"
    /// Base of links in emails; defaults to `http://app.ip:app.port`.
    public var publicURL: String?
    public var mailTransport = MailTransportKind.log
    public var mailDirectory = "data/mail"
    public var reminders = ReminderSettings()
    public var worker = WorkerSettings()
    /// Where workers keep their acceptance ledgers (`reminders.ledger_directory`); workers that
    /// share it take over from each other at once when one dies.
    public var ledgerDirectory: String?
    public var rateLimits = RateLimitSettings()
    /// `idempotency.ttl_hours` and `idempotency.lock_seconds`.
    public var idempotency = IdempotencySettings()
    /// `webhooks.allow_private`, `webhooks.timeout_seconds`, `webhooks.concurrency` and `webhooks.retention_days`.
    public var webhooks = WebhookSettings()
    /// `sync.tombstone_days`: how long the change feed remembers deletions; an older sync token
    /// gets 410.
    public var tombstoneRetention: Duration = .seconds(30 * 86_400)
    public var authMode = AuthMode.required
    public var server = ServerSettings()

    /// What one process runs: the API, the reminder worker, or both.
    public enum NodeRole: String, Sendable, CaseIterable {
        /// API and worker in one process: the only sensible role on SQLite.
        case all
        /// Stateless HTTP API; sends no mail.
        case api
        /// Reminder worker; serves only `/health`, `/ready` and `/metrics`.
        case worker

        var servesAPI: Bool { self != .worker }
        var runsWorker: Bool { self != .api }
    }

    /// Where emails go (`mail.transport`).
    public enum MailTransportKind: String, Sendable { case log, file, smtp }

    /// `reminders.ledger_directory`, or beside the SQLite file, or `data/ledger`.
    public var effectiveLedgerDirectory: String {
        if let ledgerDirectory { return ledgerDirectory }
        if case .sqliteFile(let path) = database { return path + "-ledger" }
        return "data/ledger"
    }

    /// `app.public_url`, or the bind address when it is not set.
    public var effectivePublicURL: String { publicURL ?? "http://\(host):\(port)" }

    /// Links and UIDs of calendars and pages: the UID domain is the sender's, as in emails.
    public var calendar: CalendarSettings {
        CalendarSettings(publicURL: effectivePublicURL, uidDomain: CalendarSettings.domain(ofSender: smtpDefaultSender))
    }

    public init() {}

    public init(reader: ConfigReader) throws(ConfigurationError) {
        let values = ConfigValues(reader: reader)
        host = try values.string("app.ip") ?? host
        port = try values.int("app.port", in: 0...65535) ?? port
        if let level = try values.string("log.level") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError(
                    key: "log.level", message: "'\(level)' is not one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = parsed
        }
        if let format = try values.string("log.format") {
            guard let parsed = LogFormat(rawValue: format) else {
                throw ConfigurationError(key: "log.format", message: "'\(format)' is not one of text, json")
            }
            logFormat = parsed
        }
        if let url = try values.string("db.url", secret: true) {
            guard let parsed = DatabaseURL(url) else {
                // A PostgreSQL URL may carry a password: it is not echoed.
                let shown = url.hasPrefix("postgres") ? "the postgres URL" : "'\(url)'"
                throw ConfigurationError(
                    key: "db.url",
                    message:
                        "\(shown) is not a database URL; expected sqlite:PATH, sqlite::memory: or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
                )
            }
            database = parsed
        }
        poolSize = try values.int("db.pool_size", in: 1...1000) ?? poolSize
        if let text = try values.string("app.role") {
            guard let parsed = NodeRole(rawValue: text) else {
                throw ConfigurationError(key: "app.role", message: "'\(text)' is not one of all, api, worker")
            }
            role = parsed
        }
        limits.maxBodyBytes = try values.int("app.max_body_bytes", in: 1024...(1 << 30)) ?? limits.maxBodyBytes
        limits.bulkMaxItems = try values.int("app.bulk_max_items", in: 1...100_000) ?? limits.bulkMaxItems
        smtp.host = try values.string("smtp.ip") ?? smtp.host
        smtp.port = try values.int("smtp.port", in: 1...65535) ?? smtp.port
        smtpDefaultSender = try values.string("smtp.default_sender") ?? smtpDefaultSender
        if smtpDefaultSender.split(separator: "@", omittingEmptySubsequences: false).count != 2
            || smtpDefaultSender.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control })
        {
            throw ConfigurationError(key: "smtp.default_sender", message: "'\(smtpDefaultSender)' is not an email address")
        }
        if let mode = try values.string("smtp.tls") {
            guard let parsed = SMTPConfiguration.TLSMode(rawValue: mode) else {
                throw ConfigurationError(key: "smtp.tls", message: "'\(mode)' is not one of none, starttls, tls")
            }
            smtp.tls = parsed
        }
        smtp.username = try values.string("smtp.username")
        smtp.password = try values.string("smtp.password", secret: true)
        if smtp.username != nil && smtp.tls == .none {
            throw ConfigurationError(key: "smtp.username", message: "credentials are only sent over TLS; set smtp.tls to starttls or tls")
        }
        smtp.helo = try values.string("smtp.helo") ?? smtp.helo
        smtp.caFile = try values.string("smtp.ca_file")
        if let seconds = try values.int("smtp.timeout_seconds", in: 1...3600) {
            smtp.commandTimeout = .seconds(seconds)
            smtp.connectTimeout = .seconds(seconds)
            smtp.dataTimeout = .seconds(seconds * 4)
        }
        publicURL = try values.string("app.public_url")
        if let kind = try values.string("mail.transport") {
            guard let parsed = MailTransportKind(rawValue: kind) else {
                throw ConfigurationError(key: "mail.transport", message: "'\(kind)' is not one of log, file, smtp")
            }
            mailTransport = parsed
        }
        mailDirectory = try values.string("mail.directory") ?? mailDirectory
        reminders.defaultMinutes = Int64(try values.int("reminders.default_minutes", in: 0...40_320) ?? Int(reminders.defaultMinutes))
        reminders.notifyChanges = try values.bool("reminders.notify_changes") ?? reminders.notifyChanges
        reminders.confirmSubscriptions = try values.bool("subscriptions.confirm") ?? reminders.confirmSubscriptions
        reminders.messageIDDomain = String(smtpDefaultSender.split(separator: "@").last ?? "localhost")
        worker.retry.maxAttempts = try values.int("reminders.max_attempts", in: 1...100) ?? worker.retry.maxAttempts
        if let seconds = try values.int("reminders.retry_base_seconds", in: 1...86_400) {
            worker.retry.baseDelayMilliseconds = Int64(seconds) * 1000
        }
        worker.batchSize = try values.int("reminders.batch_size", in: 1...10_000) ?? worker.batchSize
        if let days = try values.int("reminders.retention_days", in: 1...3650) { worker.retention = .seconds(days * 86_400) }
        if let seconds = try values.int("reminders.lease_seconds", in: 5...3600) { worker.leaseMilliseconds = Int64(seconds) * 1000 }
        ledgerDirectory = try values.string("reminders.ledger_directory") ?? ledgerDirectory
        worker.connections = try values.int("smtp.connections", in: 1...64) ?? worker.connections
        if let hours = try values.int("idempotency.ttl_hours", in: 1...720) { idempotency.ttlMilliseconds = Int64(hours) * 3_600_000 }
        if let seconds = try values.int("idempotency.lock_seconds", in: 1...3600) { idempotency.lockMilliseconds = Int64(seconds) * 1000 }
        if let days = try values.int("sync.tombstone_days", in: 1...3650) { tombstoneRetention = .seconds(days * 86_400) }
        webhooks.policy.allowPrivate = try values.bool("webhooks.allow_private") ?? webhooks.policy.allowPrivate
        webhooks.timeoutSeconds = try values.int("webhooks.timeout_seconds", in: 1...120) ?? webhooks.timeoutSeconds
        webhooks.concurrency = try values.int("webhooks.concurrency", in: 1...256) ?? webhooks.concurrency
        webhooks.retentionDays = try values.int("webhooks.retention_days", in: 1...3650) ?? webhooks.retentionDays
        webhooks.caFile = try values.string("webhooks.ca_file") ?? webhooks.caFile
        if let milliseconds = try values.int("reminders.poll_interval_ms", in: 10...600_000) {
            worker.pollInterval = .milliseconds(milliseconds)
        }
        if let mode = try values.string("auth.mode") {
            guard let parsed = AuthMode(rawValue: mode) else {
                throw ConfigurationError(key: "auth.mode", message: "'\(mode)' is not one of required, disabled")
            }
            authMode = parsed
        }
        rateLimits.enabled = try values.bool("rate_limit.enabled") ?? rateLimits.enabled
        rateLimits.read = try values.limits("rate_limit.read") ?? rateLimits.read
        rateLimits.write = try values.limits("rate_limit.write") ?? rateLimits.write
        rateLimits.subscribe = try values.limits("rate_limit.subscribe") ?? rateLimits.subscribe
        rateLimits.subscribePerEmail = try values.limits("rate_limit.subscribe_per_email") ?? rateLimits.subscribePerEmail
        rateLimits.subscribePerEvent = try values.limits("rate_limit.subscribe_per_event") ?? rateLimits.subscribePerEvent
        if let proxies = try values.stringArray("rate_limit.trusted_proxies") { rateLimits.trustedProxies = Set(proxies) }
        busyTimeoutMilliseconds = try values.int("db.busy_timeout_ms", in: 0...600_000) ?? busyTimeoutMilliseconds
        if let seconds = try values.int("app.header_timeout_seconds", in: 1...3600) { server.headerTimeout = .seconds(seconds) }
        if let seconds = try values.int("app.body_timeout_seconds", in: 1...3600) { server.bodyTimeout = .seconds(seconds) }
        if let seconds = try values.int("app.idle_timeout_seconds", in: 1...86_400) { server.idleTimeout = .seconds(seconds) }
        server.maxConnections = try values.int("app.max_connections", in: 1...1_000_000) ?? server.maxConnections
        if let clients = try values.stringArray("metrics.allowed_clients") {
            if case .failure(let invalid) = AddressMatcher.parse(clients) {
                throw ConfigurationError(
                    key: "metrics.allowed_clients", message: "'\(invalid.entry)' is not an IP address, an IPv4 range like 10.0.0.0/8, or *")
            }
            server.metricsAllowedClients = clients
        }
    }
}

extension AppConfiguration {
    /// Reads the configuration the way the executable does: command-line overrides, then the
    /// environment, then the JSON file at `path` (absent means defaults), then built-in defaults.
    ///
    /// - Parameters:
    ///   - arguments: `--key value` overrides, e.g. `["--app-port", "9000"]`.
    public static func load(
        path: String, arguments: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws(ConfigurationError) -> AppConfiguration {
        let file: FileProvider<JSONSnapshot>
        do {
            file = try await FileProvider<JSONSnapshot>(filePath: FilePath(path), allowMissing: true)
        } catch {
            throw ConfigurationError(key: path, message: "the configuration file is not valid JSON: \(error)")
        }
        var environment = environment
        // DATABASE_URL is the convention of most hosting platforms; DB_URL (db.url) wins if both are set.
        if environment["DB_URL"] == nil, let url = environment["DATABASE_URL"] { environment["DB_URL"] = url }
        let reader = ConfigReader(providers: [
            CommandLineArgumentsProvider(arguments: ["event-manager"] + arguments),
            EnvironmentVariablesProvider(environmentVariables: environment),
            file,
        ])
        return try AppConfiguration(reader: reader)
    }
}

/// A configuration value that is present but unusable.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "invalid configuration '\(key)': \(message)" }
}

/// Typed lookups that tell "absent" from "present but wrong".
///
/// `ConfigReader`'s optional getters answer nil in both cases; probing the other types tells
/// them apart, so a wrong value is reported instead of replaced by the default.
struct ConfigValues {
    let reader: ConfigReader

    func string(_ key: String, secret: Bool = false) throws(ConfigurationError) -> String? {
        if let value = reader.string(forKey: ConfigKey(key), isSecret: secret) { return value }
        if present(key) { throw ConfigurationError(key: key, message: "expected a string") }
        return nil
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        if let value = reader.int(forKey: ConfigKey(key)) {
            guard range.contains(value) else {
                throw ConfigurationError(key: key, message: "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        if present(key) {
            throw ConfigurationError(key: key, message: "expected an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return nil
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        if let value = reader.bool(forKey: ConfigKey(key)) { return value }
        if present(key) { throw ConfigurationError(key: key, message: "expected true or false") }
        return nil
    }

    func stringArray(_ key: String) throws(ConfigurationError) -> [String]? {
        if let value = reader.stringArray(forKey: ConfigKey(key)) { return value }
        if present(key) { throw ConfigurationError(key: key, message: "expected a list of strings") }
        return nil
    }

    /// A list like `["300 per minute", "10000 per day"]`; every entry must parse.
    func limits(_ key: String) throws(ConfigurationError) -> [RateLimit]? {
        guard let texts = try stringArray(key) else { return nil }
        guard !texts.isEmpty else { throw ConfigurationError(key: key, message: "give at least one limit, e.g. [\"300 per minute\"]") }
        guard texts.count <= RateLimit.maxPerClass else {
            throw ConfigurationError(key: key, message: "give at most \(RateLimit.maxPerClass) limits")
        }
        var limits: [RateLimit] = []
        for (index, text) in texts.enumerated() {
            guard let limit = RateLimit(text) else {
                throw ConfigurationError(
                    key: "\(key)[\(index)]", message: "'\(text)' is not a limit like '300 per minute' (second, minute, hour, day)")
            }
            limits.append(limit)
        }
        return limits
    }

    private func present(_ key: String) -> Bool {
        let configKey = ConfigKey(key)
        return reader.string(forKey: configKey) != nil || reader.double(forKey: configKey) != nil
            || reader.bool(forKey: configKey) != nil || reader.int(forKey: configKey) != nil
            || reader.stringArray(forKey: configKey) != nil
    }
}
