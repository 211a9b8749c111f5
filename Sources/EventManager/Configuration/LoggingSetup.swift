import EventManagerCore
import Foundation
import Logging

/// Installs the process-wide log handler chosen by `log.format`.
public enum LoggingSetup {
    public static func bootstrap(_ configuration: AppConfiguration) {
        let level = configuration.logLevel
        switch configuration.logFormat {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = TextLogHandler(base: StreamLogHandler.standardOutput(label: label))
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// swift-log's text lines, with metadata formatted only when a line is written.
///
/// `StreamLogHandler` formats its metadata each time a key is set, and Hummingbird sets the
/// request id on every request's logger: 1.6 % of the CPU of every request, `/health` included,
/// for lines that are mostly never written. Here the metadata is kept as given and handed to
/// the stream handler with each line, which prints it exactly as before.
struct TextLogHandler: LogHandler {
    var base: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty { event.metadata = metadata.merging(event.metadata ?? [:]) { $1 } }
        base.log(event: event)
    }
}

/// One JSON object per line on standard output, for log shippers.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var writer = JSONWriter()
        writer.raw("{\"time\":")
        writer.string(SystemWallClock().now().rfc3339)
        writer.raw(",\"level\":")
        writer.string(event.level.rawValue)
        writer.raw(",\"logger\":")
        writer.string(label)
        writer.raw(",\"message\":")
        writer.string(event.message.description)
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            writer.raw(",")
            writer.string(key)
            writer.raw(":")
            writer.string(value.description)
        }
        writer.raw("}\n")
        FileHandle.standardOutput.write(Data(writer.bytes))
    }
}
