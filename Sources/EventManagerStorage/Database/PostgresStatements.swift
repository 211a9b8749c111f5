import FluentPostgresDriver
import Synchronization

/// Prepared statements for SQL texts known only at run time, such as the event list's, whose
/// text depends on the filters and the sort a request asks for.
///
/// PostgresNIO names a prepared statement after its Swift type and takes its text from a static
/// property, so on its own it prepares only texts known when the code is written. Sent unprepared,
/// a list query was parsed, described and planned again at every request: PostgreSQL spent twice
/// the CPU on an unprepared single read that it spends on a prepared one. Here each distinct text
/// takes one of `capacity` slots the first time it is seen, for the life of the process, and each
/// slot is a type of its own (`SlotStatement<Slot>`), so PostgresNIO prepares the text once per
/// connection. Texts beyond the slots run unprepared, as do those whose plan depends on the
/// values bound (the caller says which, see `postgresRows(_:prepared:)`).
enum PostgresStatements {
    static let capacity = 64

    private struct Texts {
        var slots: [String: Int] = [:]
        var texts: [String] = []
    }

    private static let registry = Mutex(Texts())

    /// The slot of `sql`, taking a free one if it has none; nil when the slots are all taken.
    static func slot(for sql: String) -> Int? {
        registry.withLock { registry in
            if let slot = registry.slots[sql] { return slot }
            guard registry.texts.count < capacity else { return nil }
            registry.slots[sql] = registry.texts.count
            registry.texts.append(sql)
            return registry.texts.count - 1
        }
    }

    /// The text a slot holds; a slot's text never changes once taken.
    static func text(ofSlot slot: Int) -> String {
        registry.withLock { $0.texts[slot] }
    }

    /// The rows of `sql` as a prepared statement, or nil when it is not to be prepared.
    static func rows(
        _ sql: String, _ bindings: PostgresBindings, on connection: PostgresConnection, logger: Logger
    ) async throws -> [PostgresRow]? {
        guard let slot = slot(for: sql) else { return nil }
        return try await runners[slot](connection, bindings, logger)
    }

    typealias Runner = @Sendable (PostgresConnection, PostgresBindings, Logger) async throws -> [PostgresRow]

    /// One runner per slot, each executing its slot's statement type.
    private static let runners: [Runner] = {
        var runners: [Runner] = []
        addRunner(for: FirstSlot.self, to: &runners)
        return runners
    }()

    private static func addRunner<Slot: StatementSlot>(for _: Slot.Type, to runners: inout [Runner]) {
        runners.append { connection, bindings, logger in
            var rows: [PostgresRow] = []
            for try await row in try await connection.execute(SlotStatement<Slot>(bindings: bindings), logger: logger) {
                rows.append(row)
            }
            return rows
        }
        if runners.count < capacity { addRunner(for: NextSlot<Slot>.self, to: &runners) }
    }
}

/// A slot's number, carried by a type: `FirstSlot` is 0, `NextSlot<FirstSlot>` 1, and so on.
protocol StatementSlot: SendableMetatype {
    static var index: Int { get }
}

enum FirstSlot: StatementSlot {
    static var index: Int { 0 }
}

enum NextSlot<Previous: StatementSlot>: StatementSlot {
    static var index: Int { Previous.index + 1 }
}

/// The prepared statement of one slot: its name is the slot's, its text whatever took the slot.
struct SlotStatement<Slot: StatementSlot>: PostgresPreparedStatement {
    static var name: String { "em_statement_\(Slot.index)" }
    static var sql: String { PostgresStatements.text(ofSlot: Slot.index) }
    typealias Row = PostgresRow

    let bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}
