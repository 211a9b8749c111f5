import Crypto
import EventManagerCore
import Foundation
import SQLKit

/// Idempotency keys in the database, so that every API node (and a restarted one) sees them.
public struct SQLIdempotencyStore: IdempotencyStore {
    let store: DatabaseStore

    public init(store: DatabaseStore) {
        self.store = store
    }

    /// SHA-256 of the method, the target and the body: what "the same request" means.
    static func fingerprint(_ request: IdempotentRequest) -> String {
        var hash = SHA256()
        hash.update(data: Array("\(request.method)\n\(request.target)\n".utf8))
        hash.update(data: request.body)
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    public func claim(_ request: IdempotentRequest, now: Timestamp, lockMilliseconds: Int64, expiresAt: Timestamp) async throws
        -> IdempotencyClaim
    {
        let fingerprint = Self.fingerprint(request)
        let nowMs = now.millisecondsSinceEpoch
        return try await store.write { sql in
            // A new key, an expired record, or a first request that died before it committed
            // (its lock ran out) is claimed; anything else is read back.
            let claimed = try await sql.raw(
                """
                INSERT INTO idempotency_keys (scope, key, fingerprint, state, locked_until, created_at, expires_at) \
                VALUES (\(bind: request.scope), \(bind: request.key), \(bind: fingerprint), 'running', \
                \(bind: nowMs + lockMilliseconds), \(bind: nowMs), \(bind: expiresAt.millisecondsSinceEpoch)) \
                ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'running', \
                locked_until = excluded.locked_until, status = NULL, headers = NULL, body = NULL, \
                created_at = excluded.created_at, expires_at = excluded.expires_at \
                WHERE idempotency_keys.expires_at <= \(bind: nowMs) OR (idempotency_keys.state = 'running' \
                AND idempotency_keys.locked_until <= \(bind: nowMs) AND idempotency_keys.fingerprint = excluded.fingerprint) \
                RETURNING state
                """
            ).first()
            if claimed != nil { return .claimed }
            guard
                let row = try await sql.raw(
                    """
                    SELECT fingerprint, state, status, headers, body FROM idempotency_keys \
                    WHERE scope = \(bind: request.scope) AND key = \(bind: request.key)
                    """
                ).first()
            else { return .inProgress }
            guard try row.decode(column: "fingerprint", as: String.self) == fingerprint else { return .mismatch }
            guard try row.decode(column: "state", as: String.self) == "done" else { return .inProgress }
            return .replay(try Self.response(from: row))
        }
    }

    public func complete(scope: String, key: String, response: StoredResponse) async throws {
        try await store.write { sql in try await Self.record(response, scope: scope, key: key, on: sql) }
    }

    /// Keeps the answer of a running claim, on the connection (and in the transaction) `sql` is.
    static func record(_ response: StoredResponse, scope: String, key: String, on sql: any SQLDatabase) async throws {
        let headers = String(decoding: try JSONEncoder().encode(response.headers.map { [$0.name, $0.value] }), as: UTF8.self)
        try await sql.raw(
            """
            UPDATE idempotency_keys SET state = 'done', status = \(bind: response.status), headers = \(bind: headers), \
            body = \(bind: Data(response.body)) WHERE scope = \(bind: scope) AND key = \(bind: key) AND state = 'running'
            """
        ).run()
    }

    public func release(scope: String, key: String) async throws {
        try await store.write { sql in
            try await sql.raw(
                "DELETE FROM idempotency_keys WHERE scope = \(bind: scope) AND key = \(bind: key) AND state = 'running'"
            ).run()
        }
    }

    public func purge(now: Timestamp, limit: Int) async throws -> Int {
        try await store.write { sql in
            try await sql.raw(
                """
                DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM idempotency_keys \
                WHERE expires_at <= \(bind: now.millisecondsSinceEpoch) LIMIT \(literal: limit)) RETURNING key
                """
            ).all().count
        }
    }

    static func response(from row: any SQLRow) throws -> StoredResponse {
        let pairs = try JSONDecoder().decode([[String]].self, from: Data(try row.decode(column: "headers", as: String.self).utf8))
        return StoredResponse(
            status: try row.decode(column: "status", as: Int.self),
            headers: pairs.compactMap { $0.count == 2 ? (name: $0[0], value: $0[1]) : nil },
            body: Array(try row.decode(column: "body", as: Data.self))
        )
    }
}
