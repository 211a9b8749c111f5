import EventManagerCore
import Foundation
import Logging
import Synchronization

/// Why an email was not handed over, and whether trying again can help.
public struct MailError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case transient, permanent }
    public var kind: Kind
    public var message: String
    /// The server could not be reached or dropped the connection: the message itself is not
    /// at fault, so the worker backs off as a whole instead of spending the message's attempts.
    public var serverUnavailable: Bool

    public init(_ kind: Kind, _ message: String, serverUnavailable: Bool = false) {
        self.kind = kind
        self.message = message
        self.serverUnavailable = serverUnavailable
    }

    public var description: String { message }
}

/// Something that can carry emails away: the log, a folder, an SMTP server.
public protocol MailTransport: Sendable {
    /// Opens a session (for SMTP one connection, reused for every message), runs `body`, and
    /// closes it. A failure to open is a `MailError` for every message of the batch.
    func withSession<Result>(_ body: (any MailSession) async throws -> Result) async throws -> Result
}

/// One open channel to the transport; sends messages one after another.
///
/// A message is handed over in two steps so that the caller controls the moment of acceptance:
/// `begin` does everything the server can refuse without accepting (envelope, data), `end`
/// finishes the data and returns once the server took responsibility for the message. The worker
/// records each acceptance before the next `end`, which bounds what a crash can send twice.
public protocol MailSession: AnyObject {
    /// Sends everything of `mail` except the end of its data; throws `MailError` when refused.
    func begin(_ mail: OutgoingMail) async throws
    /// Ends the message begun last; returns once the server accepted it. `onAccepted` runs at
    /// the moment of acceptance, before the transport ends any other message of any of its
    /// sessions: what it records is never more than one message behind the server.
    func end(onAccepted: @escaping @Sendable () -> Void) async throws
    /// False once the connection is lost: the caller opens a new session for what is left.
    var isUsable: Bool { get }
}

extension MailSession {
    public var isUsable: Bool { true }

    /// Hands one message over; throws `MailError` when it was not accepted.
    public func send(_ mail: OutgoingMail) async throws {
        try await begin(mail)
        try await end {}
    }
}

/// Lets one session of a transport end a message at a time, acceptance noted included.
final class OneAtATime: Sendable {
    private let lock = Mutex(())

    func run<Result>(_ body: () throws -> Result) rethrows -> Result {
        try lock.withLock { _ in try body() }
    }
}

/// Prints every message to the log: the default, so a newcomer needs no mail server.
public struct LogMailTransport: MailTransport {
    let logger: Logger
    let ends = OneAtATime()

    public init(logger: Logger) {
        self.logger = logger
    }

    public func withSession<Result>(_ body: (any MailSession) async throws -> Result) async throws -> Result {
        try await body(Session(logger: logger, ends: ends))
    }

    final class Session: MailSession {
        let logger: Logger
        let ends: OneAtATime
        var begun: OutgoingMail?

        init(logger: Logger, ends: OneAtATime) {
            self.logger = logger
            self.ends = ends
        }

        func begin(_ mail: OutgoingMail) async throws { begun = mail }

        func end(onAccepted: @escaping @Sendable () -> Void) async throws {
            guard let mail = begun.take() else { return }
            ends.run {
                logger.info(
                    "mail (log transport)\n\(String(decoding: mail.data, as: UTF8.self))",
                    metadata: ["to": .string(mail.to), "message_id": .string(mail.messageID)]
                )
                onAccepted()
            }
        }
    }
}

/// Writes every message as an `.eml` file into a folder (`mail.directory`).
public struct FileMailTransport: MailTransport {
    let directory: URL
    let ends = OneAtATime()

    public init(directory: String) {
        self.directory = URL(fileURLWithPath: directory)
    }

    public func withSession<Result>(_ body: (any MailSession) async throws -> Result) async throws -> Result {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw MailError(.transient, "cannot create mail directory \(directory.path): \(error)")
        }
        return try await body(Session(directory: directory, ends: ends))
    }

    final class Session: MailSession {
        let directory: URL
        let ends: OneAtATime
        var begun: OutgoingMail?

        init(directory: URL, ends: OneAtATime) {
            self.directory = directory
            self.ends = ends
        }

        func begin(_ mail: OutgoingMail) async throws { begun = mail }

        func end(onAccepted: @escaping @Sendable () -> Void) async throws {
            guard let mail = begun.take() else { return }
            let name = mail.messageID.filter { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" } + ".eml"
            try ends.run {
                do {
                    try Data(mail.data).write(to: directory.appendingPathComponent(name), options: .atomic)
                } catch {
                    throw MailError(.transient, "cannot write \(name): \(error)")
                }
                onAccepted()
            }
        }
    }
}
