import Configuration
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
    public var limits = APILimits()
    public var smtpHost = "127.0.0.1"
    public var smtpPort = 2500
    public var smtpDefaultSender = "event-manager@localhost"

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
        if let url = try values.string("db.url") {
            guard let parsed = DatabaseURL(url) else {
                throw ConfigurationError(key: "db.url", message: "'\(url)' is not a database URL; expected sqlite:PATH or sqlite::memory:")
            }
            database = parsed
        }
        limits.maxBodyBytes = try values.int("app.max_body_bytes", in: 1024...(1 << 30)) ?? limits.maxBodyBytes
        limits.bulkMaxItems = try values.int("app.bulk_max_items", in: 1...100_000) ?? limits.bulkMaxItems
        smtpHost = try values.string("smtp.ip") ?? smtpHost
        smtpPort = try values.int("smtp.port", in: 1...65535) ?? smtpPort
        smtpDefaultSender = try values.string("smtp.default_sender") ?? smtpDefaultSender
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

    func string(_ key: String) throws(ConfigurationError) -> String? {
        if let value = reader.string(forKey: ConfigKey(key)) { return value }
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

    private func present(_ key: String) -> Bool {
        let configKey = ConfigKey(key)
        return reader.string(forKey: configKey) != nil || reader.double(forKey: configKey) != nil
            || reader.bool(forKey: configKey) != nil || reader.int(forKey: configKey) != nil
            || reader.stringArray(forKey: configKey) != nil
    }
}
