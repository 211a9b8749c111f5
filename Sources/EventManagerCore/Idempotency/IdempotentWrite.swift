import Synchronization

/// An answer as it is kept for replay: status, the headers that matter, and the body.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func == (lhs: StoredResponse, rhs: StoredResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body && lhs.headers.elementsEqual(rhs.headers) { $0 == $1 }
    }
}

/// A request that carries an `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header).
public struct IdempotentRequest: Sendable {
    /// Whose key it is: an account, or the client's address for anonymous requests. Two
    /// callers never see each other's answers.
    public var scope: String
    public var key: String
    public var method: String
    /// Path and query.
    public var target: String
    public var body: [UInt8]

    public init(scope: String, key: String, method: String, target: String, body: [UInt8]) {
        self.scope = scope
        self.key = key
        self.method = method
        self.target = target
        self.body = body
    }

    /// What a key may be: 1 to 255 visible ASCII characters.
    public static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 255 && key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }
}

/// What became of claiming a key.
public enum IdempotencyClaim: Sendable, Equatable {
    /// The key is new (or its record expired, or its first request died before committing):
    /// run the request.
    case claimed
    /// The first request finished: answer as it was answered.
    case replay(StoredResponse)
    /// The first request is still running.
    case inProgress
    /// The key was used with another method, target or body.
    case mismatch
}

/// Where keys and their answers are kept, shared by every API node through the database.
public protocol IdempotencyStore: Sendable {
    /// Claims `request.key` for `lockMilliseconds` (after which a request that died is taken
    /// over) and keeps the record until `expiresAt`.
    func claim(_ request: IdempotentRequest, now: Timestamp, lockMilliseconds: Int64, expiresAt: Timestamp) async throws
        -> IdempotencyClaim
    /// Keeps the answer of a claimed request that has not recorded one with its write.
    func complete(scope: String, key: String, response: StoredResponse) async throws
    /// Forgets a claim whose request failed on the server's side, so that a retry runs again.
    func release(scope: String, key: String) async throws
    /// Deletes up to `limit` records that expired by `now`; returns how many.
    func purge(now: Timestamp, limit: Int) async throws -> Int
}

/// The write of the current request, when it carries an `Idempotency-Key`.
///
/// The HTTP layer says how the answer is rendered from what a write returns; the storage layer
/// records that answer inside the write's own transaction. So a request either commits with its
/// answer or not at all: a retry after a crash replays the answer or runs the request once.
public final class IdempotentWrite: Sendable {
    @TaskLocal public static var current: IdempotentWrite?

    public let scope: String
    public let key: String
    private let renderer = Mutex<(@Sendable (any Sendable) -> StoredResponse?)?>(nil)

    public init(scope: String, key: String) {
        self.scope = scope
        self.key = key
    }

    /// Sets how the answer is rendered from the result of the write that follows; results of
    /// another type, and results `render` returns nil for, are not recorded with the write.
    public func renders<Result: Sendable>(_ render: @escaping @Sendable (Result) -> StoredResponse?) {
        renderer.withLock { $0 = { ($0 as? Result).flatMap(render) } }
    }

    /// The answer for a write's result, if a renderer takes it.
    public func response(for result: any Sendable) -> StoredResponse? {
        renderer.withLock { $0 }?(result)
    }
}
