import Foundation

/// The receiver of `Tests/Peers/webhook_receiver.py`, run as a child process: it checks every
/// signature with Python's `hmac`, an implementation we did not write.
final class WebhookReceiver: @unchecked Sendable {
    let port: Int
    let directory: URL
    private let process: Process

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Peers/webhook_receiver.py").path

    private init(port: Int, directory: URL, process: Process) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Starts a receiver; `failFirst` requests get 503, `mode` is ok, gone, redirect or huge;
    /// with `certificate` it speaks HTTPS.
    static func start(failFirst: Int = 0, mode: String = "ok", certificate: TestCertificate? = nil) async throws -> WebhookReceiver {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("em-hooks-\(UUID().uuidString)")
        var arguments = ["--dir", directory.path, "--fail-first", String(failFirst), "--mode", mode]
        if let certificate { arguments += ["--tls-cert", certificate.certificate, "--tls-key", certificate.key] }
        let (process, port, _) = try await launchPythonPeer(script: script, arguments: arguments, name: "the webhook receiver")
        let receiver = WebhookReceiver(port: port, directory: directory, process: process)
        try TestResources.current().onEnd { receiver.stop() }
        return receiver
    }

    var url: String { "http://127.0.0.1:\(port)/hooks" }

    /// Tells the receiver the endpoint's secret, once registration has shown it.
    func use(secret: String) throws {
        try Data(secret.utf8).write(to: directory.appendingPathComponent("secret"))
    }

    /// One request as the receiver saw it.
    struct Received {
        var headers: [String: String]
        var body: [String: Any]
        var verified: Bool
        var status: Int
        var type: String? { body["type"] as? String }
        var data: [String: Any]? { body["data"] as? [String: Any] }
    }

    func requests() throws -> [Received] {
        let path = directory.appendingPathComponent("requests.jsonl")
        guard FileManager.default.fileExists(atPath: path.path) else { return [] }
        return try String(contentsOf: path, encoding: .utf8).split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            return Received(
                headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? [String: Any] ?? [:],
                verified: object["verified"] as? Bool ?? false, status: object["status"] as? Int ?? 0)
        }
    }

    func stop() {
        terminateThenKill(process)
        try? FileManager.default.removeItem(at: directory)
    }
}
