import Configuration
import Foundation
import Testing

@testable import EventManager
@testable import EventManagerCore

@Suite(.resources) struct ConfigurationTests {
    func load(_ values: [String: ConfigValue], env: [String: String] = [:]) throws(ConfigurationError) -> AppConfiguration {
        let reader = ConfigReader(providers: [
            EnvironmentVariablesProvider(environmentVariables: env),
            InMemoryProvider(values: Dictionary(uniqueKeysWithValues: values.map { (AbsoluteConfigKey(stringLiteral: $0.key), $0.value) })),
        ])
        return try AppConfiguration(reader: reader)
    }

    @Test func defaultsMatchTheSeed() throws {
        let configuration = try load([:])
        #expect(configuration.port == 8000)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.database == .sqliteFile(path: "data/event-manager.sqlite"))
        #expect(configuration.limits.maxBodyBytes == 1_048_576)
        #expect(configuration.limits.bulkMaxItems == 1000)
    }

    @Test func environmentOverridesTheFile() throws {
        let configuration = try load(
            ["app.port": .init(.int(9000), isSecret: false), "log.level": .init(.string("debug"), isSecret: false)],
            env: ["APP_PORT": "9100", "DB_URL": "sqlite::memory:"])
        #expect(configuration.port == 9100)
        #expect(configuration.logLevel == .debug)
        #expect(configuration.database == .sqliteMemory)
    }

    @Test func deliveryKeysAndTheLedgerBesideTheDatabase() throws {
        let defaults = try load([:])
        #expect(defaults.worker.connections == 8)
        #expect(defaults.effectiveLedgerDirectory == "data/event-manager.sqlite-ledger")
        let onPostgres = try load([:], env: ["DB_URL": "postgres://u@127.0.0.1/x"])
        #expect(onPostgres.effectiveLedgerDirectory == "data/ledger")
        let chosen = try load(
            ["smtp.connections": .init(.int(3), isSecret: false)],
            env: ["REMINDERS_LEDGER_DIRECTORY": "/var/lib/em/ledger", "DB_URL": "postgres://u@127.0.0.1/x"])
        #expect(chosen.worker.connections == 3)
        #expect(chosen.effectiveLedgerDirectory == "/var/lib/em/ledger")
        let idempotency = try load(["idempotency.ttl_hours": .init(.int(48), isSecret: false)], env: ["IDEMPOTENCY_LOCK_SECONDS": "5"])
        #expect(idempotency.idempotency == IdempotencySettings(ttlMilliseconds: 48 * 3_600_000, lockMilliseconds: 5000))
        #expect(try load(["sync.tombstone_days": .init(.int(7), isSecret: false)]).tombstoneRetention == .seconds(7 * 86_400))
        let hooks = try load(
            ["webhooks.timeout_seconds": .init(.int(3), isSecret: false)],
            env: [
                "WEBHOOKS_ALLOW_PRIVATE": "true", "WEBHOOKS_CONCURRENCY": "2", "WEBHOOKS_RETENTION_DAYS": "9",
                "WEBHOOKS_CA_FILE": "/etc/ssl/hooks.pem",
            ]
        ).webhooks
        #expect(hooks.policy.allowPrivate && hooks.timeoutSeconds == 3 && hooks.concurrency == 2 && hooks.retentionDays == 9)
        #expect(hooks.caFile == "/etc/ssl/hooks.pem")
        #expect(try load([:]).webhooks == WebhookSettings())
    }

    @Test(arguments: [
        ("smtp.connections", ConfigContent.int(0)), ("smtp.connections", .int(65)), ("sync.tombstone_days", .int(0)),
        ("idempotency.ttl_hours", .int(721)), ("webhooks.timeout_seconds", .int(0)), ("webhooks.concurrency", .int(257)),
        ("app.port", ConfigContent.string("eighty")), ("app.port", .int(70000)), ("log.level", .string("loud")),
        ("db.url", .string("mysql://x")), ("app.max_body_bytes", .int(1)), ("log.format", .string("xml")),
    ])
    func invalidValuesNameTheirKey(key: String, value: ConfigContent) {
        do {
            _ = try load([key: .init(value, isSecret: false)])
            Issue.record("\(key) accepted")
        } catch {
            #expect(error.key == key)
        }
    }
}

@Suite(.resources) struct ConfigurationLoadingTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("em-config-\(UUID().uuidString).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func commandLineBeatsEnvironmentBeatsFile() async throws {
        let path = try write(#"{"app": {"port": 8100, "ip": "0.0.0.0"}, "log": {"level": "debug"}, "db": {"url": "sqlite:file.sqlite"}}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try await AppConfiguration.load(
            path: path, arguments: ["--app-port", "8300"], environment: ["APP_PORT": "8200", "LOG_LEVEL": "error"]
        )
        #expect(configuration.port == 8300)
        #expect(configuration.logLevel == .error)
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.database == .sqliteFile(path: "file.sqlite"))
    }

    @Test func postgresRolesAndPoolComeFromFileEnvironmentOrDATABASE_URL() async throws {
        let path = try write(#"{"db": {"url": "postgres://em:secret@db.internal:5433/events", "pool_size": 24}, "app": {"role": "api"}}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fromFile = try await AppConfiguration.load(path: path, environment: [:])
        #expect(fromFile.database == .postgres(url: "postgres://em:secret@db.internal:5433/events"))
        #expect(fromFile.database.redacted == "postgres://em:***@db.internal:5433/events")
        #expect(fromFile.poolSize == 24)
        #expect(fromFile.role == .api)
        let platform = try await AppConfiguration.load(
            path: "/nonexistent.json", arguments: ["--app-role", "worker"], environment: ["DATABASE_URL": "postgresql://u@127.0.0.1/x"])
        #expect(platform.database == .postgres(url: "postgresql://u@127.0.0.1/x"))
        #expect(platform.role == .worker)
        let both = try await AppConfiguration.load(
            path: "/nonexistent.json", environment: ["DATABASE_URL": "postgres://u@h/x", "DB_URL": "sqlite:mine.sqlite"])
        #expect(both.database == .sqliteFile(path: "mine.sqlite"), "db.url wins over DATABASE_URL")
        for (key, value) in [
            ("DB_URL", "postgres://nohost"), ("DB_URL", "mysql://u@h/x"), ("APP_ROLE", "scheduler"), ("DB_POOL_SIZE", "0"),
        ] {
            do {
                _ = try await AppConfiguration.load(path: "/nonexistent.json", environment: [key: value])
                Issue.record("\(key)=\(value) accepted")
            } catch {
                #expect(
                    error.key
                        == key.lowercased().replacingOccurrences(of: "_", with: ".").replacingOccurrences(
                            of: "pool.size", with: "pool_size"))
                #expect(!error.description.contains("secret"))
            }
        }
    }

    @Test func missingFileMeansDefaults() async throws {
        let configuration = try await AppConfiguration.load(path: "/nonexistent/config.json", environment: [:])
        #expect(configuration.port == 8000)
    }

    @Test func malformedFileStopsStartUp() async throws {
        let path = try write(#"{"app": {"port": 80"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        await #expect(throws: ConfigurationError.self) { try await AppConfiguration.load(path: path, environment: [:]) }
    }

    @Test func wrongTypeInTheFileNamesTheKey() async throws {
        let path = try write(#"{"smtp": {"port": "twenty-five"}}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try await AppConfiguration.load(path: path, environment: [:])
            Issue.record("accepted")
        } catch {
            #expect(error.key == "smtp.port")
        }
    }
}

@Suite(.resources) struct ExampleConfigurationTests {
    static let examplePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config.example.json").path

    @Test func theDocumentedExampleLoadsAndEqualsTheDefaults() async throws {
        let example = try await AppConfiguration.load(path: Self.examplePath, environment: [:])
        let defaults = AppConfiguration()
        #expect(example.port == defaults.port)
        #expect(example.database == defaults.database)
        #expect(example.mailTransport == .log)
        #expect(example.reminders.defaultMinutes == 30)
        #expect(example.worker.leaseMilliseconds == defaults.worker.leaseMilliseconds)
        #expect(example.worker.batchSize == defaults.worker.batchSize)
        #expect(example.worker.connections == defaults.worker.connections)
        #expect(example.smtp.port == 2500)
        #expect(example.role == defaults.role)
        #expect(example.poolSize == defaults.poolSize)
        #expect(example.idempotency == defaults.idempotency)
        #expect(example.tombstoneRetention == defaults.tombstoneRetention)
        #expect(example.webhooks == defaults.webhooks)
    }

    @Test func credentialsWithoutTLSAreRefused() async throws {
        do {
            _ = try await AppConfiguration.load(path: "/nonexistent.json", environment: ["SMTP_USERNAME": "bob", "SMTP_PASSWORD": "x"])
            Issue.record("accepted")
        } catch {
            #expect(error.key == "smtp.username")
        }
        let secure = try await AppConfiguration.load(
            path: "/nonexistent.json",
            environment: ["SMTP_USERNAME": "bob", "SMTP_PASSWORD": "x", "SMTP_TLS": "starttls", "MAIL_TRANSPORT": "smtp"]
        )
        #expect(secure.smtp.tls == .starttls)
        #expect(secure.mailTransport == .smtp)
    }
}

@Suite(.resources) struct RateLimitConfigurationTests {
    @Test func aClassTakesAtMostFourLimits() async throws {
        let five = #"["1 per second", "2 per minute", "3 per hour", "4 per day", "5 per day"]"#
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("em-limits-\(UUID().uuidString).json").path
        try #"{"rate_limit": {"write": \#(five)}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try await AppConfiguration.load(path: path, environment: [:])
            Issue.record("five limits accepted")
        } catch {
            #expect(error.key == "rate_limit.write")
            #expect(error.message.contains("at most 4"))
        }
    }

    @Test func limitsComeFromTheSeedStyleLists() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("em-rl-\(UUID().uuidString).json").path
        try #"{"rate_limit": {"enabled": true, "write": ["2 per second", "100 per day"], "trusted_proxies": ["10.0.0.1"]}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try await AppConfiguration.load(path: path, environment: [:])
        #expect(configuration.rateLimits.write == [RateLimit("2 per second")!, RateLimit("100 per day")!])
        #expect(configuration.rateLimits.read == [RateLimit("1200 per minute")!])
        #expect(configuration.rateLimits.trustedProxies == ["10.0.0.1"])
    }

    @Test func aMalformedLimitStopsStartUpNamingTheKey() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("em-rl-\(UUID().uuidString).json").path
        try #"{"rate_limit": {"subscribe": ["30 per minute", "lots per day"]}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try await AppConfiguration.load(path: path, environment: [:])
            Issue.record("accepted")
        } catch {
            #expect(error.key == "rate_limit.subscribe[1]")
        }
        let disabled = try await AppConfiguration.load(path: "/nonexistent.json", environment: ["RATE_LIMIT_ENABLED": "false"])
        #expect(!disabled.rateLimits.enabled)
    }
}
