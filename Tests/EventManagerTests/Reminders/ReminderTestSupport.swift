import Foundation
import Logging
import Synchronization
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerMail
@testable import EventManagerStorage

/// A mail transport that keeps what it is given and fails on request.
final class RecordingTransport: MailTransport {
    let sent = Mutex<[OutgoingMail]>([])
    /// Decides per message: return normally to accept, throw `MailError` to refuse.
    let behaviour = Mutex<@Sendable (OutgoingMail) throws -> Void>({ _ in })
    let sessionDown = Atomic<Bool>(false)
    let sessions = Atomic<Int>(0)
    let stream: AsyncStream<OutgoingMail>
    private let continuation: AsyncStream<OutgoingMail>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream()
    }

    var mails: [OutgoingMail] { sent.withLock { $0 } }

    func withSession<Result>(_ body: (any MailSession) async throws -> Result) async throws -> Result {
        guard !sessionDown.load(ordering: .relaxed) else { throw MailError(.transient, "connection refused") }
        sessions.add(1, ordering: .relaxed)
        return try await body(Session(transport: self))
    }

    final class Session: MailSession {
        let transport: RecordingTransport
        var begun: OutgoingMail?

        init(transport: RecordingTransport) { self.transport = transport }

        func begin(_ mail: OutgoingMail) async throws {
            let behaviour = transport.behaviour.withLock { $0 }
            try behaviour(mail)
            begun = mail
        }

        func end(onAccepted: @escaping @Sendable () -> Void) async throws {
            guard let mail = begun.take() else { throw MailError(.transient, "nothing begun") }
            transport.sent.withLock {
                $0.append(mail)
                onAccepted()
            }
            transport.continuation.yield(mail)
        }
    }
}

/// The reminder pipeline over a real database (SQLite or PostgreSQL) with a hand-driven clock.
///
/// Its database is removed when the test ends (the test carries `.resources`).
struct ReminderHarness {
    let database: TemporaryDatabase
    let store: DatabaseStore
    let subscriptions: SQLSubscriptionStore
    let queue: SQLDeliveryQueue
    let events: SQLEventRepository
    let clock: ManualClock
    let transport: RecordingTransport

    static func make(
        backend: Backend = .sqlite, clock: ManualClock = ManualClock("2030-01-01T10:00:00Z"), notifyChanges: Bool = true,
        confirm: Bool = false
    ) async throws -> ReminderHarness {
        let database = try await TemporaryDatabase.make(backend: backend)
        let store = try await database.open()
        var settings = ReminderSettings(notifyChanges: notifyChanges, messageIDDomain: "test.example")
        settings.confirmSubscriptions = confirm
        return ReminderHarness(
            database: database, store: store, subscriptions: SQLSubscriptionStore(store: store, settings: settings),
            queue: SQLDeliveryQueue(store: store), events: SQLEventRepository(store: store, reminders: settings), clock: clock,
            transport: RecordingTransport()
        )
    }

    func worker(
        owner: String = "worker-a", settings: WorkerSettings = WorkerSettings(), clock: (any WallClock)? = nil,
        ledger: AcceptanceLedger? = nil
    ) -> ReminderWorker {
        ReminderWorker(
            queue: queue, transport: transport, messages: messages, clock: clock ?? self.clock, settings: settings, owner: owner,
            logger: quietLogger, ledger: ledger, jitter: { 0 }
        )
    }

    var messages: ReminderMessages { ReminderMessages(sender: "reminders@test.example", publicURL: "http://127.0.0.1:8000") }

    var quietLogger: Logger {
        var logger = Logger(label: "worker")
        logger.logLevel = .critical
        return logger
    }

    /// Creates an event starting `minutes` after the clock's now.
    func event(startingIn minutes: Int64, title: String = "Meetup") async throws -> Event {
        let start = clock.now().adding(milliseconds: minutes * 60_000)
        return try await events.create([EventDraft(title: title, location: "Hall A", date: .instant(start))], now: clock.now())[0]
    }

    /// An event starting in 10 minutes with `count` subscribers (`user0@example.com` ...) whose
    /// reminders are due now.
    @discardableResult
    func eventWithSubscribers(_ count: Int) async throws -> Event {
        let event = try await event(startingIn: 10)
        for index in 0..<count { try await subscribe(event, "user\(index)@example.com") }
        return event
    }

    @discardableResult
    func subscribe(_ event: Event, _ email: String = "alice@example.com", minutes: Int64 = 30) async throws -> SubscriptionView {
        let request = SubscriptionRequest(email: try EmailAddress.parse(email).get(), remindBeforeMinutes: minutes)
        return try await subscriptions.subscribe(eventID: event.id, request: request, now: clock.now()).0
    }

    func advance(minutes: Int64) { clock.advance(milliseconds: minutes * 60_000) }

    func subjects() -> [String] {
        transport.mails.compactMap { mail in
            String(decoding: mail.data, as: UTF8.self).components(separatedBy: "\r\n").first { $0.hasPrefix("Subject: ") }?
                .dropFirst("Subject: ".count).description
        }
    }

    func states() async throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try await store.sqlRaw("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state").all() {
            result[try row.decode(column: "state", as: String.self)] = try row.decode(column: "n", as: Int.self)
        }
        return result
    }
}

/// A thread-safe counter for closures that must be `Sendable`.
final class Counter: Sendable {
    private let value = Mutex(0)

    /// Adds one and returns the new value.
    func increment() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}
