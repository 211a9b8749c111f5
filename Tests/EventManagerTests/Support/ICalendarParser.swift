import Foundation

/// What Python's icalendar package (`Tests/Peers/ics_parse.py`), not our code, reads in the
/// calendars the service produces.
enum ICalendarParser {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Peers/ics_parse.py").path

    static let available: Bool = {
        if SMTPPeer.required { return true }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import icalendar"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        return (try? probe.runToCompletion()) == 0
    }()

    struct Calendar {
        var method: String?
        var name: String?
        var refresh: String?
        var events: [[String: Any]]
    }

    /// Parses each object (`.ics` bytes, or a whole email whose calendar parts are taken).
    static func parse(_ objects: [(bytes: [UInt8], isEmail: Bool)]) async throws -> [Calendar] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("em-ics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for (index, object) in objects.enumerated() {
            let path = directory.appendingPathComponent("\(index).\(object.isEmail ? "eml" : "ics")")
            try Data(object.bytes).write(to: path)
            paths.append(path.path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + paths
        let output = directory.appendingPathComponent("out.json")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        let status = try await process.runToEnd()
        guard status == 0 else { throw ParseError.failed(status) }
        let list = try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [[String: Any]] ?? []
        return list.map {
            Calendar(
                method: $0["method"] as? String, name: $0["name"] as? String, refresh: $0["refresh"] as? String,
                events: $0["events"] as? [[String: Any]] ?? [])
        }
    }

    enum ParseError: Error { case failed(Int32) }
}
