import Foundation
import NIOCore
import NIOPosix
import Testing

/// Postfix's `smtp-sink` (Debian package postfix) as a second real SMTP server: unlike aiosmtpd
/// it advertises PIPELINING, and it can refuse EHLO, which exercises the HELO fallback.
final class SMTPSink: @unchecked Sendable {
    let port: Int
    let directory: URL
    private let process: Process

    static let path = "/usr/sbin/smtp-sink"
    static let available = SMTPPeer.required || FileManager.default.isExecutableFile(atPath: path)

    private init(port: Int, directory: URL, process: Process) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Starts smtp-sink with `options` and returns once it accepts connections.
    static func start(options: [String] = []) async throws -> SMTPSink {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("em-sink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // smtp-sink drops root privileges to `nobody`, who must be able to write the dumps.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        let port = Int.random(in: 20_000...45_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-u", "nobody", "-d", directory.path + "/%H%M%S."] + options + ["127.0.0.1:\(port)", "16"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try TestResources.current().own(process, name: "smtp-sink")
        try await awaitListening(port: port)
        return SMTPSink(port: port, directory: directory, process: process)
    }

    /// Waits until something accepts TCP connections on `port` (at most five seconds).
    private static func awaitListening(port: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port)
                    .get()
                try await channel.close()
                return
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                // Polling a socket: there is no event to await for "another process started listening".
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// The dumped transactions, as text.
    func dumps() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map {
            String(decoding: try Data(contentsOf: directory.appendingPathComponent($0)), as: UTF8.self)
        }
    }

    /// Kills the sink and waits for it: smtp-sink ignores SIGTERM, so only SIGKILL ends it.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}

/// A TCP server on 127.0.0.1 that accepts connections and never sends a byte: an SMTP server
/// that hangs before its greeting.
final class SilentServer: Sendable {
    let port: Int
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    static func start() async throws -> SilentServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = SilentServer(channel: channel)
        try TestResources.current().onEnd { try? await channel.close() }
        return server
    }

    func stop() async throws { try await channel.close() }
}
