import EventManagerCore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file per worker listing the messages the mail server accepted whose outcome is not yet in
/// the database: what lets outcomes be written in batches and a crash still send at most one
/// message twice.
///
/// One line per accepted message (`<delivery id> <accepted at, ms>`), appended with `write(2)`
/// right after the server's 250 and before the next message is ended. A `write` is in the
/// kernel when it returns, so it survives the process being killed (not the machine losing
/// power: that can repeat one outcome batch). The worker holds an exclusive `flock` on its files
/// for its whole life; a file nobody holds belongs to a worker that died, and the next worker
/// that looks (at start and before every claim) records its lines as sent, puts the dead
/// worker's leases back in the queue, and deletes it. Workers that share the directory (one
/// machine, or a shared volume) thus take over from each other at once; a worker elsewhere
/// waits for the lease to run out.
public final class AcceptanceLedger: Sendable {
    /// One file of a worker that died.
    public struct Orphan: Sendable {
        public var owner: String
        public var accepted: [(id: Int64, at: Timestamp)]
        let path: String
        let descriptor: Int32

        /// Deletes the file once its lines are in the database.
        public func discard() {
            unlink(path)
            close(descriptor)
        }

        /// Leaves the file for a later look (the database could not be written).
        public func keep() { close(descriptor) }
    }

    private struct File {
        var descriptor: Int32
        var path: String
    }

    private struct State {
        var current: File
        var generation: Int
        /// Files rotated out whose lines are being written to the database.
        var retired: [Int: File] = [:]
    }

    public let directory: String
    public let owner: String
    private let state: Mutex<State>

    /// Creates the directory if needed and opens this worker's first file, locked.
    public init(directory: String, owner: String) throws {
        self.directory = directory
        self.owner = owner
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = try Self.open(directory: directory, owner: owner, generation: 0)
        state = Mutex(State(current: file, generation: 0))
    }

    deinit {
        state.withLock { state in
            close(state.current.descriptor)
            for file in state.retired.values { close(file.descriptor) }
        }
    }

    /// Notes that the server accepted delivery `id` at `at`. Costs one `write(2)`.
    public func append(id: Int64, at: Timestamp) {
        let line = Array("\(id) \(at.millisecondsSinceEpoch)\n".utf8)
        state.withLock { state in
            _ = line.withUnsafeBytes { write(state.current.descriptor, $0.baseAddress, $0.count) }
        }
    }

    /// Starts a new file and returns the old one's generation: once every line written before
    /// this call is in the database, `retire(_:)` deletes it.
    public func rotate() throws -> Int {
        try state.withLock { state in
            let next = try Self.open(directory: directory, owner: owner, generation: state.generation + 1)
            state.retired[state.generation] = state.current
            state.current = next
            state.generation += 1
            return state.generation - 1
        }
    }

    /// Deletes the files up to `generation` (their lines are in the database).
    public func retireThrough(_ generation: Int) {
        let files = state.withLock { state -> [File] in
            let done = state.retired.filter { $0.key <= generation }
            for key in done.keys { state.retired[key] = nil }
            return Array(done.values)
        }
        for file in files {
            unlink(file.path)
            close(file.descriptor)
        }
    }

    /// Deletes every file of this worker on a clean stop, when everything is in the database.
    public func removeAll() {
        state.withLock { state in
            for file in state.retired.values + [state.current] {
                unlink(file.path)
                close(file.descriptor)
            }
            state.retired = [:]
            state.current.descriptor = -1
        }
    }

    /// The files in `directory` that no living worker holds, each locked for the caller.
    public static func orphans(in directory: String) -> [Orphan] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var found: [Orphan] = []
        for name in names.sorted() where name.hasSuffix(".ledger") {
            let path = directory + "/" + name
            let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                close(descriptor)
                continue
            }
            guard let data = FileManager.default.contents(atPath: path), let parsed = parse(data) else {
                // Emptied and deleted by another worker between the listing and the lock.
                close(descriptor)
                continue
            }
            found.append(Orphan(owner: parsed.owner, accepted: parsed.accepted, path: path, descriptor: descriptor))
        }
        return found
    }

    /// Reads a file: a header line `owner <name>`, then `<id> <ms>` lines. A torn last line
    /// (the process died inside a write) is ignored: its message counts as not accepted.
    static func parse(_ data: Data) -> (owner: String, accepted: [(id: Int64, at: Timestamp)])? {
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard let header = lines.first, header.starts(with: Array("owner ".utf8)) else { return nil }
        let owner = String(decoding: header.dropFirst(6), as: UTF8.self)
        var accepted: [(id: Int64, at: Timestamp)] = []
        // Only lines followed by a newline are complete.
        for line in lines.dropFirst().dropLast() {
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count == 2, let id = Int64(String(decoding: fields[0], as: UTF8.self)),
                let at = Int64(String(decoding: fields[1], as: UTF8.self))
            else { continue }
            accepted.append((id, Timestamp(millisecondsSinceEpoch: at)))
        }
        return (owner, accepted)
    }

    private static func open(directory: String, owner: String, generation: Int) throws -> File {
        let safe = String(owner.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
        let path = "\(directory)/\(safe).\(generation).ledger"
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw LedgerError(path: path, reason: String(cString: strerror(errno))) }
        // Blocking: a worker looking for orphans may hold it for a moment, sees no header, lets go.
        guard flock(descriptor, LOCK_EX) == 0 else {
            close(descriptor)
            throw LedgerError(path: path, reason: String(cString: strerror(errno)))
        }
        let header = Array("owner \(owner)\n".utf8)
        _ = header.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        return File(descriptor: descriptor, path: path)
    }
}

/// The acceptance ledger's file could not be opened.
public struct LedgerError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot open the acceptance ledger \(path): \(reason)" }
}
