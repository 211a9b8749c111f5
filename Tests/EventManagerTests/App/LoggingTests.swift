import Logging
import Synchronization
import Testing

@testable import EventManager

/// The log handlers of `log.format`.
struct LoggingTests {
    /// Collects what a stream handler writes.
    final class Lines: TextOutputStream, Sendable {
        let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
    }

    /// The text handler keeps metadata unformatted until a line is written, and writes the
    /// same line swift-log's stream handler writes with that metadata set on it.
    @Test func textLinesAreSwiftLogsOwn() {
        let (ours, theirs) = (Lines(), Lines())
        var handler = TextLogHandler(base: StreamLogHandler(label: "app", stream: ours, metadataProvider: nil))
        var stream = StreamLogHandler(label: "app", stream: theirs, metadataProvider: nil)
        for (key, value) in [("hb.request.id", "7"), ("route", "/events"), ("hb.request.id", "8")] {
            handler[metadataKey: key] = .string(value)
            stream[metadataKey: key] = .string(value)
        }
        handler.logLevel = .debug
        #expect(handler.logLevel == .debug)
        #expect(handler[metadataKey: "hb.request.id"] == "8")
        for explicit in [nil, ["route": "/health", "status": "200"] as Logger.Metadata] {
            let event = LogEvent(
                level: .info, message: "answered", metadata: explicit, source: "EventManagerHTTP", file: #fileID, function: #function,
                line: #line)
            handler.log(event: event)
            stream.log(event: event)
        }
        // Lines start with a timestamp to the second, which may differ: compare what follows it.
        func withoutTime(_ text: String) -> [Substring] { text.split(separator: "\n").map { $0.drop { $0 != " " } } }
        #expect(withoutTime(ours.text.withLock { $0 }) == withoutTime(theirs.text.withLock { $0 }))
        #expect(ours.text.withLock { $0 }.contains("hb.request.id=8 route=/health status=200 [EventManagerHTTP] answered"))
    }
}
