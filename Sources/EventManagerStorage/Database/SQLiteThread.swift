import Dispatch
import FluentKit
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Synchronization
import VaporCSQLite

/// A connection to the SQLite file on a thread of its own, which is also a task executor: the
/// writer that runs whole group commits, and the readers.
///
/// Through sqlite-nio every statement is a trip: the Swift executor hands it to the blocking
/// pool, the pool thread hands each row and the result to an event loop, and the event loop
/// wakes the executor again; and each statement is parsed anew. A group commit runs its
/// statements one after another, so those wake-ups added up to most of a write's time (27 % of
/// the CPU in futex waits under `POST /events`) while the disk waited 0.16 ms per group. Here a
/// task that needs the connection moves to its thread (`withTaskExecutorPreference`, or a group
/// leader started there): a statement is a plain function call, a whole body costs one hop in
/// and one out, and each distinct statement text is prepared once per connection.
///
/// It shares SQLite's library with sqlite-nio (the same compiled copy), so the file's locks
/// keep all connections honest; `WriterLock` still keeps this process's writers in line.
///
/// The thread is a one-thread `NIOThreadPool` (a condition variable, no file descriptors: an
/// event loop per connection took three, and the test process, which opens many stores, hit a
/// Foundation defect in `Process.run` that walks every open descriptor).
final class SQLiteThread: TaskExecutor, @unchecked Sendable {
    /// The one thread everything below runs on.
    private let thread = NIOThreadPool(numberOfThreads: 1)
    /// That thread's id, known once it ran its first job.
    private let threadID: pthread_t
    private let path: String
    private let busyTimeoutMilliseconds: Int
    /// A reader refuses to write (`PRAGMA query_only`), so no write slips past the writer.
    private let readOnly: Bool
    /// Touched only on the thread; opened at first use, once migrations made the file.
    private var handle: OpaquePointer?
    private var isClosed = false
    private var statements: [String: PreparedStatement] = [:]
    /// Distinct statement texts kept prepared; beyond it a statement is finalized after use
    /// (texts built per request, like an `IN` list of varying length, do not grow the cache).
    private let cacheLimit = 256
    /// Bodies running or waiting on this connection (readers are chosen by it).
    let load = Atomic<Int>(0)

    /// A connection to `path` with the pool's settings: foreign keys on, `synchronous=FULL`
    /// (SQLite's default), bounded waits for other processes.
    init(path: String, busyTimeoutMilliseconds: Int, readOnly: Bool) {
        thread.start()
        let id = Mutex<pthread_t?>(nil)
        let started = DispatchSemaphore(value: 0)
        thread.submit { _ in
            id.withLock { $0 = pthread_self() }
            started.signal()
        }
        started.wait()
        threadID = id.withLock { $0! }
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.readOnly = readOnly
    }

    /// Pages of write-ahead log after which a commit copies them into the database file.
    static let writerCheckpointPages = 4000

    private func open() throws -> OpaquePointer {
        if let handle { return handle }
        guard !isClosed else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "the connection is closed") }
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let opened = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard opened == SQLITE_OK, let handle else {
            sqlite_nio_sqlite3_close(handle)
            throw SQLiteFailure(code: opened, message: "cannot open \(path)")
        }
        self.handle = handle
        sqlite_nio_sqlite3_extended_result_codes(handle, 1)
        sqlite_nio_sqlite3_busy_timeout(handle, Int32(clamping: busyTimeoutMilliseconds))
        try run("PRAGMA foreign_keys = ON", []) { _, _ in }
        if readOnly {
            try run("PRAGMA query_only = ON", []) { _, _ in }
        } else {
            // Copying the log back into the file every 4,000 pages rather than SQLite's 1,000
            // copies a page the groups keep rewriting (an index's last leaf) a quarter as often:
            // 3 % of a write's CPU went to checkpoints, 5 µs less per write in alternating runs.
            try run("PRAGMA wal_autocheckpoint = \(Self.writerCheckpointPages)", []) { _, _ in }
        }
        return handle
    }

    // MARK: TaskExecutor

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        // After `close()` the job still runs (here); a statement it tries then fails as closed.
        thread.submit { _ in job.runSynchronously(on: executor) }
    }

    /// Whether the caller runs on this connection's thread.
    var isCurrent: Bool { pthread_equal(pthread_self(), threadID) != 0 }

    /// Runs `body` on the thread and returns its result; throws once the thread has stopped.
    func submit<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await thread.runIfActive(body)
    }

    // MARK: Statements

    /// Runs one statement here and now; only on the thread.
    ///
    /// - Parameter onRow: each result row's cells in column order, with the statement's column names.
    func run(_ sql: String, _ binds: [SQLiteData], _ onRow: (SQLiteColumnNames, [SQLiteData]) throws -> Void) throws {
        try run(sql, binds) { (row: SQLiteRowReader) in
            var cells: [SQLiteData] = []
            cells.reserveCapacity(row.columns.names.count)
            for column in 0..<Int32(row.columns.names.count) {
                cells.append(Self.cell(of: row.statement, at: column))
            }
            try onRow(row.columns, cells)
        }
    }

    /// Runs one statement here and now, each result row read where SQLite holds it; only on the
    /// thread.
    func run(_ sql: String, _ binds: [SQLiteData], _ onRow: (SQLiteRowReader) throws -> Void) throws {
        precondition(isCurrent, "a SQLite connection used off its thread")
        let handle = try open()
        let statement = try prepared(sql, on: handle)
        defer { release(statement) }
        for (offset, bind) in binds.enumerated() {
            try check(Self.bind(bind, at: Int32(offset + 1), to: statement.raw), on: handle)
        }
        let row = SQLiteRowReader(statement: statement.raw, columns: statement.columns)
        while true {
            let step = sqlite_nio_sqlite3_step(statement.raw)
            if step == SQLITE_DONE { return }
            guard step == SQLITE_ROW else { throw failure(step, on: handle) }
            try onRow(row)
        }
    }

    /// The statement for `sql`: the kept one when it is free, else a new one, kept if there is room.
    ///
    /// The kept statement stays in the dictionary while it runs (marked in use): one look-up of
    /// the text per statement. Taking it out and putting it back hashed the text twice more and
    /// rebuilt a dictionary slot each time (2.7 % of the server's samples under subscriptions).
    private func prepared(_ sql: String, on handle: OpaquePointer) throws -> PreparedStatement {
        let kept = statements[sql]
        if let kept, !kept.inUse {
            kept.inUse = true
            return kept
        }
        // A text already kept but in use (a statement run while its own rows are read) gets one of its own.
        let keep = kept == nil && statements.count < cacheLimit
        var raw: OpaquePointer?
        let flags = keep ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let result = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, flags, &raw, nil)
        guard result == SQLITE_OK, let raw else { throw failure(result, on: handle) }
        var names: [String] = []
        let count = sqlite_nio_sqlite3_column_count(raw)
        names.reserveCapacity(Int(count))
        for column in 0..<count {
            names.append(sqlite_nio_sqlite3_column_name(raw, column).map { String(cString: $0) } ?? "")
        }
        let statement = PreparedStatement(raw: raw, columns: SQLiteColumnNames(names), isKept: keep)
        if keep {
            statement.inUse = true
            statements[sql] = statement
        }
        return statement
    }

    /// Resets `statement` for its next use if it is kept, or finalizes it.
    private func release(_ statement: PreparedStatement) {
        guard statement.isKept else {
            sqlite_nio_sqlite3_finalize(statement.raw)
            return
        }
        sqlite_nio_sqlite3_reset(statement.raw)
        sqlite_nio_sqlite3_clear_bindings(statement.raw)
        statement.inUse = false
    }

    private static func bind(_ value: SQLiteData, at index: Int32, to statement: OpaquePointer) -> Int32 {
        switch value {
        case .integer(let value): sqlite_nio_sqlite3_bind_int64(statement, index, Int64(value))
        case .float(let value): sqlite_nio_sqlite3_bind_double(statement, index, value)
        case .null: sqlite_nio_sqlite3_bind_null(statement, index)
        case .text(let value):
            sqlite_nio_sqlite3_bind_text64(statement, index, value, UInt64(value.utf8.count), transient, UInt8(SQLITE_UTF8))
        case .blob(let value):
            value.withUnsafeReadableBytes {
                sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), transient)
            }
        }
    }

    static func cell(of statement: OpaquePointer, at column: Int32) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT:
            return .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            guard let text = sqlite_nio_sqlite3_column_text(statement, column) else { return .text("") }
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            if let bytes = sqlite_nio_sqlite3_column_blob(statement, column) {
                buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: count))
            }
            return .blob(buffer)
        default:
            return .null
        }
    }

    private func check(_ result: Int32, on handle: OpaquePointer) throws {
        guard result == SQLITE_OK else { throw failure(result, on: handle) }
    }

    private func failure(_ result: Int32, on handle: OpaquePointer) -> SQLiteFailure {
        SQLiteFailure(code: result, message: sqlite_nio_sqlite3_errmsg(handle).map { String(cString: $0) } ?? "")
    }

    // MARK: Closing

    /// Finalizes every statement, closes the connection and stops the thread. Later use throws.
    func close() async {
        try? await submit { [self] in
            for statement in statements.values { sqlite_nio_sqlite3_finalize(statement.raw) }
            statements.removeAll()
            sqlite_nio_sqlite3_close(handle)
            handle = nil
            isClosed = true
        }
        try? await thread.shutdownGracefully()
    }
}

/// A statement prepared on a connection, with its result's column names; touched only on the
/// connection's thread.
final class PreparedStatement {
    let raw: OpaquePointer
    let columns: SQLiteColumnNames
    /// Whether the connection keeps it for the next run of its text (or finalizes it after this one).
    let isKept: Bool
    /// Whether a statement is running it now.
    var inUse = false

    init(raw: OpaquePointer, columns: SQLiteColumnNames, isKept: Bool) {
        self.raw = raw
        self.columns = columns
        self.isKept = isKept
    }
}

/// The current row of a statement, read by column position without building its cells.
///
/// Valid only inside the `onRow` call it is handed to, on the connection's thread.
struct SQLiteRowReader {
    let statement: OpaquePointer
    let columns: SQLiteColumnNames

    func int64(_ column: Int32) throws -> Int64 {
        guard sqlite_nio_sqlite3_column_type(statement, column) == SQLITE_INTEGER else { throw unexpected(column) }
        return sqlite_nio_sqlite3_column_int64(statement, column)
    }

    func optionalInt64(_ column: Int32) throws -> Int64? {
        sqlite_nio_sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : try int64(column)
    }

    func bool(_ column: Int32) throws -> Bool { try int64(column) != 0 }

    func string(_ column: Int32) throws -> String {
        guard sqlite_nio_sqlite3_column_type(statement, column) == SQLITE_TEXT else { throw unexpected(column) }
        guard let text = sqlite_nio_sqlite3_column_text(statement, column) else { return "" }
        let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    private func unexpected(_ column: Int32) -> UnexpectedCell {
        UnexpectedCell(column: columns.names[Int(column)], data: SQLiteThread.cell(of: statement, at: column))
    }
}

/// A result's column names, shared by its rows.
final class SQLiteColumnNames: Sendable {
    let names: [String]
    private let positions: [String: Int]

    init(_ names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (position, name) in names.enumerated() where positions[name] == nil { positions[name] = position }
        self.positions = positions
    }

    func position(of name: String) -> Int? { positions[name] }
}

/// SQLite's destructor value that tells it to copy a bound text or blob.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A statement the writer's connection refused, with SQLite's (extended) result code.
struct SQLiteFailure: Error, DatabaseError, CustomStringConvertible {
    let code: Int32
    let message: String

    /// SQLite's primary result code (the extended code's low byte).
    var primary: Int32 { code & 0xff }

    var isSyntaxError: Bool { primary == SQLITE_ERROR }
    var isConstraintFailure: Bool { primary == SQLITE_CONSTRAINT }
    var isConnectionClosed: Bool { primary == SQLITE_MISUSE }
    /// Busy, locked or failing to read or write the file: the request may work in a moment.
    var isUnavailable: Bool { [SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR].contains(primary) }

    var description: String { "SQLite error \(code): \(message)" }
}
