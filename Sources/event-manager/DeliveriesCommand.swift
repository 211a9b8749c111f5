import ArgumentParser
import EventManagerCore
import EventManagerStorage

/// The reminder ledger from the command line, for operators: the same records and retry as
/// `GET /events/{id}/deliveries` and `POST /deliveries/{id}/retry`.
struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What happened to each email of an event; retry failed ones.", subcommands: [List.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an event's deliveries: id, kind, state, address, due, sent, lateness, attempts, last reply.")
        @Option(help: "The event's id.") var event: Int64
        @Option(help: "Only this state: scheduled, sending, sent, failed, cancelled or skipped.") var state: String?
        @Option(help: "At most this many (newest last).") var limit = 1000
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            var parameters: [(String, String)] = [("limit", String(limit))]
            if let state { parameters.append(("state", state)) }
            let query: DeliveryListQuery
            do {
                query = try DeliveryListQuery.parse(eventID: event, parameters)
            } catch {
                throw ValidationError(error.message)
            }
            let records = try await withStore(options) { store in try await SQLDeliveryLedger(store: store).deliveries(query) }
            print(["id", "kind", "state", "email", "due_at", "sent_at", "late_ms", "attempts", "last_reply"].joined(separator: "\t"))
            for record in records.prefix(limit) {
                let fields = [
                    String(record.id), record.kind.rawValue, record.state.rawValue, record.email, record.dueAt.rfc3339,
                    record.sentAt?.rfc3339 ?? "-", record.latenessMilliseconds.map(String.init) ?? "-", String(record.attempts),
                    record.lastReply ?? "-",
                ]
                print(fields.joined(separator: "\t"))
            }
            if records.count > limit { print("… more: raise --limit") }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Schedule a failed delivery again, due now.")
        @Argument(help: "The delivery's id (see deliveries list).") var deliveryID: Int64
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let outcome = try await withStore(options) { store in
                try await SQLDeliveryLedger(store: store).retry(id: deliveryID, now: SystemWallClock().now())
            }
            switch outcome {
            case .success(let record): print("delivery \(record.id) to \(record.email) scheduled again")
            case .failure(.notFound): throw ValidationError("no delivery with id \(deliveryID)")
            case .failure(.notFailed(let state)):
                throw ValidationError("delivery \(deliveryID) is \(state.rawValue); only a failed delivery can be retried")
            }
        }
    }
}
