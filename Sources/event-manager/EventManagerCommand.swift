import ArgumentParser
import Configuration
import EventManager
import Foundation
import Logging

@main
struct EventManagerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event-manager",
        abstract: "Publish events, take email subscriptions, send reminders.",
        subcommands: [Serve.self, Migrate.self],
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
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API (the default command).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration = try await options.load()
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
        let store = try DatabaseStore(url: configuration.database, logger: Logger(label: "event-manager"))
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
