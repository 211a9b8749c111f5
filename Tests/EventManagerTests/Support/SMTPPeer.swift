import Foundation
import Testing

/// The aiosmtpd-based SMTP server of `Tests/Peers/smtp_peer.py`, run as a child process.
///
/// Live mail tests need Python with aiosmtpd. Without it they are skipped, unless
/// `EVENT_MANAGER_REQUIRE_PEERS=1` (set by `.ci/run`), which turns a missing peer into a failure.
final class SMTPPeer: @unchecked Sendable {
    let port: Int
    let directory: URL
    private let process: Process
    private let exited: DispatchSemaphore

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Peers/smtp_peer.py").path

    static let required = ProcessInfo.processInfo.environment["EVENT_MANAGER_REQUIRE_PEERS"] == "1"

    /// True when the peer can run here (or must, under CI).
    static let available: Bool = {
        if required { return true }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import aiosmtpd"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        return (try? probe.runToCompletion()) == 0
    }()

    private init(port: Int, directory: URL, process: Process, exited: DispatchSemaphore) {
        self.port = port
        self.directory = directory
        self.process = process
        self.exited = exited
    }

    /// Starts a peer and returns once it accepts connections.
    static func start(port: Int? = nil, arguments: [String] = []) async throws -> SMTPPeer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("em-peer-\(UUID().uuidString)")
        let (process, actual, exited) = try await launchPythonPeer(
            script: script, arguments: ["--dir", directory.path, "--port", String(port ?? 0)] + arguments, name: "the SMTP peer")
        return SMTPPeer(port: actual, directory: directory, process: process, exited: exited)
    }

    enum PeerError: Error { case didNotStart(String) }

    /// Everything the peer accepted so far, in order.
    func messages() throws -> [ReceivedMail] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return try files.filter { $0.hasSuffix(".json") }.sorted().map { name in
            try JSONDecoder().decode(ReceivedMail.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
        }
    }

    /// Asks the peer to exit, and kills it if it has not within five seconds; it also exits by
    /// itself when this process ends.
    func stop() {
        terminateThenKill(process)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stops the peer and returns once it has exited and its port is closed; a peer that
    /// ignores SIGTERM for five seconds gets SIGKILL.
    func stopAndWait() async {
        stop()
        let exited = self.exited
        let pid = process.processIdentifier
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                if exited.wait(timeout: .now() + 5) == .timedOut {
                    kill(pid, SIGKILL)
                    exited.wait()
                }
                continuation.resume()
            }
        }
    }

    deinit { stop() }
}

/// Sends `process` SIGTERM, then SIGKILL five seconds later if it is still running.
///
/// aiosmtpd has twice stayed alive after SIGTERM in a loaded CI run (in the middle of a TLS
/// handshake its test refused); the peer was asked to stop, so that is not the test's failure,
/// and it must not linger into the next test either.
func terminateThenKill(_ process: Process) {
    guard process.isRunning else { return }
    process.terminate()
    DispatchQueue.global().asyncAfter(deadline: .now() + 5) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Runs a Python peer of `Tests/Peers` owned by the running test, and returns once it printed
/// `READY <port>`.
func launchPythonPeer(script: String, arguments: [String], name: String) async throws -> (Process, Int, DispatchSemaphore) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script] + arguments
    let output = Pipe()
    process.standardOutput = output
    let exited = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in exited.signal() }
    try process.run()
    try TestResources.current().own(process, name: name)
    let line = await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
        DispatchQueue.global().async {
            var bytes: [UInt8] = []
            while true {
                let chunk = output.fileHandleForReading.readData(ofLength: 1)
                if chunk.isEmpty || chunk.first == 10 { break }
                bytes.append(contentsOf: chunk)
            }
            continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
        }
    }
    guard line.hasPrefix("READY "), let port = Int(line.dropFirst(6)) else {
        process.terminate()
        throw SMTPPeer.PeerError.didNotStart(line)
    }
    return (process, port, exited)
}

/// A message as Python's email package parsed it on the receiving side.
struct ReceivedMail: Decodable {
    struct Part: Decodable {
        var contentType: String
        var params: [String: String]?
        var filename: String?
        var content: String?

        enum CodingKeys: String, CodingKey {
            case contentType = "content_type"
            case params, filename, content
        }
    }

    var mailFrom: String
    var rcptTos: [String]
    var headers: [[String]]
    var rawHeaders: [[String]]
    var parts: [Part]
    var defects: [String]

    enum CodingKeys: String, CodingKey {
        case mailFrom = "mail_from"
        case rcptTos = "rcpt_tos"
        case rawHeaders = "raw_headers"
        case headers, parts, defects
    }

    func header(_ name: String) -> String? {
        headers.first { $0[0].lowercased() == name.lowercased() }?[1]
    }

    func part(_ type: String) -> Part? { parts.first { $0.contentType == type } }
}

/// A self-signed certificate for `localhost` and 127.0.0.1, made with the openssl command.
struct TestCertificate {
    let certificate: String
    let key: String

    static func make() async throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("em-cert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", certificate,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard try await process.runToEnd() == 0 else { throw SMTPPeer.PeerError.didNotStart("openssl failed") }
        return TestCertificate(certificate: certificate, key: key)
    }
}

extension Process {
    /// Runs to the end without blocking a thread of the concurrency pool.
    func runToEnd() async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try run()
            } catch {
                terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }

    /// Runs to the end and returns the exit status. (`waitUntilExit` can hang inside Swift
    /// concurrency on Linux; the termination handler does not.)
    func runToCompletion() throws -> Int32 {
        let done = DispatchSemaphore(value: 0)
        terminationHandler = { _ in done.signal() }
        try run()
        done.wait()
        return terminationStatus
    }
}
