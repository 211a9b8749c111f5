import EventManagerCore
import Foundation
import Synchronization

/// An async lock that admits one writer at a time, first come first served.
///
/// SQLite allows one writer per file, and sqlite-nio waits for a busy file by spinning on a thread
/// of the blocking pool. With two such threads, two writers spinning while a third holds the lock
/// and waits for a thread to finish its transaction would stop the process for good. Queuing
/// writers here first means at most one connection ever waits on SQLite's lock.
///
/// One lock per file per process: every store that opens the same file (the server, a CLI
/// command in the same process, a test's second store) shares it, so none can bypass the others.
final class WriterLock: Sendable {
    private static let byFile = Mutex<[String: WriterLock]>([:])

    /// The process's lock of the SQLite file at `path`.
    static func forFile(_ path: String) -> WriterLock {
        let key = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        return byFile.withLock { locks in
            if let lock = locks[key] { return lock }
            let lock = WriterLock()
            locks[key] = lock
            return lock
        }
    }

    private let lock = FIFOLock()

    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await lock.withLock(body)
    }
}
