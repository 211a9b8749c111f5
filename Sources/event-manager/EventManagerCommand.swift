import ArgumentParser
import Configuration
import EventManager
import EventManagerCore
import EventManagerStorage
import Foundation
import Logging

@main
struct EventManagerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event-manager",
        abstract: "Publish events, take email subscriptions, send reminders.",
        subcommands: [Serve.self, Migrate.self, Accounts.self, Keys.self, Deliveries.self],
        defaultSubcommand: Serve.self
    )
}

/// Options every subcommand shares: where the configuration lives and per-key overrides.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (JSON). A missing file means defaults.")
    var config = "config.json"

    @Argument(
        parsing: .allUnrecognized,
        help: "Overrides of configuration keys, e.g. --app-port 9000 --db-url sqlite:other.sqlite"
    )
    var overrides: [String] = []

    func load() async throws -> AppConfiguration {
        do {
            return try await AppConfiguration.load(path: config, arguments: overrides)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API and the reminder worker (the default command).")

    @Option(
        help: """
            all: API and worker in one process (the default; the only sensible role on SQLite); \
            api: a stateless API node; worker: a reminder worker that serves /health, /ready and /metrics only.
            """
    )
    var role: AppConfiguration.NodeRole?

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        var configuration = try await options.load()
        if let role { configuration.role = role }
        LoggingSetup.bootstrap(configuration)
        let app = try await buildApplication(configuration: configuration)
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations, then exit.")

    @Flag(help: "Revert the last batch of migrations instead.")
    var revert = false

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration = try await options.load()
        LoggingSetup.bootstrap(configuration)
        let store = try DatabaseStore(url: configuration.database, poolSize: 2, logger: Logger(label: "event-manager"))
        do {
            if revert {
                try await store.revertLastBatch()
            } else {
                try await store.migrate()
            }
        } catch {
            await store.shutdown()
            throw error
        }
        await store.shutdown()
        print(revert ? "reverted the last migration batch" : "migrations are up to date")
    }
}

/// Opens the configured database (migrated), runs `body`, and closes it.
func withStore<T>(_ options: ConfigOptions, _ body: (DatabaseStore) async throws -> T) async throws -> T {
    let configuration = try await options.load()
    var logger = Logger(label: "event-manager")
    logger.logLevel = .warning
    let store = try DatabaseStore(url: configuration.database, logger: logger)
    do {
        try await store.migrate()
        let result = try await body(store)
        await store.shutdown()
        return result
    } catch {
        await store.shutdown()
        throw error
    }
}

struct Accounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage accounts.", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account and print its first API key (shown once).")
        @Option(help: "Unique account name.") var name: String
        @Option(help: "admin or organizer.") var role: String
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be admin or organizer") }
            guard case .success(let name) = AccountName.validate(name) else { throw ValidationError("--name must be 1-100 characters") }
            let (account, key) = try await withStore(options) { store in
                let accounts = SQLAccountStore(store: store)
                let now = SystemWallClock().now()
                let account = try await accounts.createAccount(name: name, role: role, now: now)
                return (account, try await accounts.createKey(accountID: account.id, now: now))
            }
            print("account \(account.id) \(account.name) (\(account.role.rawValue))")
            print("key \(key.0.id): \(key.1.text)")
            print("Store the key now: it is not shown again.")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts and their keys.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await withStore(options) { store in
                let accounts = SQLAccountStore(store: store)
                for account in try await accounts.accounts() {
                    print("\(account.id)\t\(account.name)\t\(account.role.rawValue)\tcreated \(account.createdAt.rfc3339)")
                    for key in try await accounts.keys(accountID: account.id) {
                        let state = key.revokedAt.map { "revoked \($0.rfc3339)" } ?? "active"
                        let used = key.lastUsedAt.map { "last used \($0.rfc3339)" } ?? "never used"
                        print("\tkey \(key.id)\t\(key.prefix)…\t\(state)\t\(used)")
                    }
                }
            }
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage API keys.", subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create another key for an account (shown once).")
        @Option(help: "The account's name.") var account: String
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let key = try await withStore(options) { store in
                let accounts = SQLAccountStore(store: store)
                guard let found = try await accounts.account(named: account) else { throw ValidationError("no account named '\(account)'") }
                return try await accounts.createKey(accountID: found.id, now: SystemWallClock().now())
            }
            print("key \(key.0.id): \(key.1.text)")
            print("Store the key now: it is not shown again.")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its id.")
        @Argument(help: "The key's id (see accounts list).") var keyID: Int64
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let revoked = try await withStore(options) { store in
                try await SQLAccountStore(store: store).revokeKey(id: keyID, now: SystemWallClock().now())
            }
            guard revoked else { throw ValidationError("no key with id \(keyID)") }
            print("key \(keyID) revoked")
        }
    }
}

extension AppConfiguration.NodeRole: ExpressibleByArgument {}
