import EventManagerCore
import Synchronization

/// API keys this process found in the database during the last second, so an authenticated
/// request does not read its key each time.
///
/// The read was 3 % of a `POST /events`' CPU, plus two hops to a reading thread and back. A key
/// revoked through this process is forgotten at once; one revoked elsewhere (another node, the
/// `keys revoke` command) is refused once its entry is older than `lifetimeMilliseconds`. Only
/// keys that exist are kept, so a key created elsewhere works at once, and each request's secret
/// is still compared with the stored hash.
final class VerifiedKeys: Sendable {
    struct Entry: Sendable {
        let keyID: Int64
        let secretHash: [UInt8]
        let principal: Principal
        /// When the key was last recorded as used (minute precision, see `authenticate`).
        var lastUsed: Int64?
        let verifiedAt: Int64
    }

    /// How long a key read from the database is trusted without reading it again.
    static let lifetimeMilliseconds: Int64 = 1000
    /// Most keys kept; past it the cache starts over rather than grow with every key presented.
    static let capacity = 10_000

    private let entries = Mutex<[String: Entry]>([:])

    /// The key with `lookupID`, if it was read within the lifetime before `now`.
    func entry(lookupID: String, now: Timestamp) -> Entry? {
        entries.withLock { entries in
            guard let entry = entries[lookupID] else { return nil }
            let age = now.millisecondsSinceEpoch - entry.verifiedAt
            guard age >= 0, age < Self.lifetimeMilliseconds else {
                entries[lookupID] = nil
                return nil
            }
            return entry
        }
    }

    func remember(_ entry: Entry, lookupID: String) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[lookupID] = entry
        }
    }

    /// Notes that the key's use at `time` is being recorded, so requests in the same second
    /// do not each write it.
    func noteUse(lookupID: String, at time: Int64) {
        entries.withLock { $0[lookupID]?.lastUsed = time }
    }

    /// Forgets a revoked key.
    func forget(keyID: Int64) {
        entries.withLock { entries in
            for (lookupID, entry) in entries where entry.keyID == keyID { entries[lookupID] = nil }
        }
    }
}
