import EventManagerCore
import Foundation
import Logging

/// Why an email was not handed over, and whether trying again can help.
public struct MailError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case transient, permanent }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
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
public protocol MailSession {
    /// Hands one message over; throws `MailError` when it was not accepted.
    func send(_ mail: OutgoingMail) async throws
}

/// Prints every message to the log: the default, so a newcomer needs no mail server.
public struct LogMailTransport: MailTransport {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func withSession<Result>(_ body: (any MailSession) async throws -> Result) async throws -> Result {
        try await body(Session(logger: logger))
    }

    struct Session: MailSession {
        let logger: Logger
        func send(_ mail: OutgoingMail) async throws {
            logger.info(
                "mail (log transport)\n\(String(decoding: mail.data, as: UTF8.self))",
                metadata: ["to": .string(mail.to), "message_id": .string(mail.messageID)]
            )
        }
    }
}

/// Writes every message as an `.eml` file into a folder (`mail.directory`).
public struct FileMailTransport: MailTransport {
    let directory: URL

    public init(directory: String) {
        self.directory = URL(fileURLWithPath: directory)
    }

    public func withSession<Result>(_ body: (any MailSession) async throws -> Result) async throws -> Result {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw MailError(.transient, "cannot create mail directory \(directory.path): \(error)")
        }
        return try await body(Session(directory: directory))
    }

    struct Session: MailSession {
        let directory: URL
        func send(_ mail: OutgoingMail) async throws {
            let name = mail.messageID.filter { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" } + ".eml"
            do {
                try Data(mail.data).write(to: directory.appendingPathComponent(name), options: .atomic)
            } catch {
                throw MailError(.transient, "cannot write \(name): \(error)")
            }
        }
    }
}
