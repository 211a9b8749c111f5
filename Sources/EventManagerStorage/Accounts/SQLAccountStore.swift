import Crypto
import EventManagerCore
import Foundation
import SQLKit

/// Accounts and API keys in SQL.
public struct SQLAccountStore: AccountRepository {
    let store: DatabaseStore
    /// Keys read in the last second, shared by the copies of this store.
    let verifiedKeys = VerifiedKeys()

    public init(store: DatabaseStore) {
        self.store = store
    }

    /// - Throws: `AppError` 409 `account_exists` when the name is taken.
    public func createAccount(name: String, role: Role, now: Timestamp) async throws -> Account {
        let taken = AppError(.conflict, code: "account_exists", message: "an account named '\(name)' exists")
        do {
            return try await store.transaction { sql in
                if try await sql.raw("SELECT id FROM accounts WHERE name = \(bind: name)").first() != nil { throw taken }
                let row = try await sql.raw(
                    "INSERT INTO accounts (name, role, created_at) VALUES (\(bind: name), \(bind: role.rawValue), \(bind: now.millisecondsSinceEpoch)) RETURNING id"
                ).first()
                guard let id = try row?.decode(column: "id", as: Int64.self) else { throw StorageError.missingReturnedRow }
                return Account(id: id, name: name, role: role, createdAt: now)
            }
        } catch  where error.isConstraintFailure {
            // PostgreSQL: a concurrent request took the name between our check and our insert.
            throw taken
        }
    }

    public func accounts() async throws -> [Account] {
        try await store.read { try await $0.raw("SELECT id, name, role, created_at FROM accounts ORDER BY id").all() }.map(
            Self.account(from:))
    }

    public func account(named name: String) async throws -> Account? {
        try await store.read { try await $0.raw("SELECT id, name, role, created_at FROM accounts WHERE name = \(bind: name)").first() }
            .map(Self.account(from:))
    }

    public func account(id: Int64) async throws -> Account? {
        try await store.read { try await $0.raw("SELECT id, name, role, created_at FROM accounts WHERE id = \(bind: id)").first() }
            .map(Self.account(from:))
    }

    /// Makes a key for the account; the returned token is the only time the secret exists.
    public func createKey(accountID: Int64, now: Timestamp) async throws -> (APIKeyRecord, APIKeyToken) {
        let token = APIKeyToken(
            lookupID: RandomToken.hex(bytes: 8),
            secret: RandomToken.make(bytes: 32)
        )
        let hash = Self.hash(token.secret)
        let row = try await store.write { sql in
            try await sql.raw(
                """
                INSERT INTO api_keys (account_id, lookup_id, secret_hash, created_at) VALUES (\(bind: accountID), \(bind: token.lookupID), \
                \(bind: hash), \(bind: now.millisecondsSinceEpoch)) RETURNING id
                """
            ).first()
        }
        guard let id = try row?.decode(column: "id", as: Int64.self) else { throw StorageError.missingReturnedRow }
        return (APIKeyRecord(id: id, accountID: accountID, prefix: APIKeyToken.prefix + token.lookupID, createdAt: now), token)
    }

    /// Revokes a key; false when there is no such key.
    public func revokeKey(id: Int64, now: Timestamp) async throws -> Bool {
        let rows = try await store.write { sql in
            try await sql.raw(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(bind: now.millisecondsSinceEpoch)) WHERE id = \(bind: id) RETURNING id"
            ).all()
        }
        verifiedKeys.forget(keyID: id)
        return !rows.isEmpty
    }

    /// The caller a bearer token identifies, or nil for an unknown, malformed or revoked key.
    ///
    /// A key found in the last second is not read again (`VerifiedKeys`).
    public func authenticate(_ text: String, now: Timestamp) async throws -> Principal? {
        guard let token = APIKeyToken(text) else { return nil }
        // Hashed and compared whether or not the key's id exists, so the time an answer takes
        // does not tell a guesser which ids are real.
        let presented = Array(Self.hash(token.secret).utf8)
        if let known = verifiedKeys.entry(lookupID: token.lookupID, now: now) {
            guard Self.constantTimeEqual(known.secretHash, presented) else { return nil }
            try await recordUse(of: known, lookupID: token.lookupID, now: now)
            return known.principal
        }
        let found = try await store.read { sql in
            try await sql.raw(
                """
                SELECT k.id, k.secret_hash, k.last_used_at, k.account_id, \
                (SELECT a.role FROM accounts a WHERE a.id = k.account_id) AS role FROM api_keys k \
                WHERE k.lookup_id = \(bind: token.lookupID) AND k.revoked_at IS NULL
                """
            ).first()
        }
        let stored = try found.map { Array(try $0.decode(column: "secret_hash", as: String.self).utf8) } ?? Self.noSuchKey
        guard Self.constantTimeEqual(stored, presented), let row = found,
            let role = Role(rawValue: try row.decode(column: "role", as: String.self))
        else {
            return nil
        }
        let entry = VerifiedKeys.Entry(
            keyID: try row.decode(column: "id", as: Int64.self), secretHash: stored,
            principal: Principal(accountID: try row.decode(column: "account_id", as: Int64.self), role: role),
            lastUsed: try row.decodeNil(column: "last_used_at") ? nil : try row.decode(column: "last_used_at", as: Int64.self),
            verifiedAt: now.millisecondsSinceEpoch)
        verifiedKeys.remember(entry, lookupID: token.lookupID)
        try await recordUse(of: entry, lookupID: token.lookupID, now: now)
        return entry.principal
    }

    /// Writes `last_used_at` when the stored one is a minute old or more: it is for humans, and
    /// a minute's precision spares a write per request.
    private func recordUse(of key: VerifiedKeys.Entry, lookupID: String, now: Timestamp) async throws {
        let time = now.millisecondsSinceEpoch
        guard key.lastUsed.map({ time - $0 >= 60_000 }) ?? true else { return }
        verifiedKeys.noteUse(lookupID: lookupID, at: time)
        try await store.write { sql in
            try await sql.raw("UPDATE api_keys SET last_used_at = \(bind: time) WHERE id = \(bind: key.keyID)").run()
        }
    }

    public func keys(accountID: Int64) async throws -> [APIKeyRecord] {
        try await store.read { sql in
            try await sql.raw(
                "SELECT id, account_id, lookup_id, created_at, last_used_at, revoked_at FROM api_keys WHERE account_id = \(bind: accountID) ORDER BY id"
            ).all()
        }.map { row in
            APIKeyRecord(
                id: try row.decode(column: "id", as: Int64.self), accountID: try row.decode(column: "account_id", as: Int64.self),
                prefix: APIKeyToken.prefix + (try row.decode(column: "lookup_id", as: String.self)),
                createdAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "created_at", as: Int64.self)),
                lastUsedAt: try row.decodeNil(column: "last_used_at")
                    ? nil : Timestamp(millisecondsSinceEpoch: try row.decode(column: "last_used_at", as: Int64.self)),
                revokedAt: try row.decodeNil(column: "revoked_at")
                    ? nil : Timestamp(millisecondsSinceEpoch: try row.decode(column: "revoked_at", as: Int64.self))
            )
        }
    }

    /// What an unknown key id is compared with: a hash no secret has.
    static let noSuchKey = Array(String(repeating: "-", count: 64).utf8)

    static func hash(_ secret: String) -> String {
        // Hex by hand: `String(format:)` per byte was 8 % of a write's CPU in a profile.
        RandomToken.lowercaseHex(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Compares without stopping at the first difference.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    static func account(from row: any SQLRow) throws -> Account {
        Account(
            id: try row.decode(column: "id", as: Int64.self), name: try row.decode(column: "name", as: String.self),
            role: Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .organizer,
            createdAt: Timestamp(millisecondsSinceEpoch: try row.decode(column: "created_at", as: Int64.self))
        )
    }
}
