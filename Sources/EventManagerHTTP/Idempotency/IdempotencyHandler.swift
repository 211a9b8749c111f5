import EventManagerCore
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// `Idempotency-Key` on POST, PUT, PATCH and DELETE (draft-ietf-httpapi-idempotency-key-header):
/// a retry of a request that was answered gets the same answer with `Idempotent-Replayed: true`
/// and changes nothing; the same key with another request is a 422; while the first is still
/// running, a 409.
///
/// It wraps the handlers of write routes (not a router middleware: a method the path does not
/// serve gets its 405, and a route that needs a key its 401, before a key is looked at). Keys are
/// scoped to the account of the API key, or to the client's address for anonymous requests. Where a controller says how its answer is rendered (`IdempotentWrite.renders`),
/// the answer is recorded in the write's own transaction, so a crash leaves either both or
/// neither; other answers are recorded right after. Answers of the server's own failures (5xx)
/// are not kept: the retry runs again.
struct IdempotencyHandler: Sendable {
    typealias Context = AppRequestContext

    let store: any IdempotencyStore
    let settings: IdempotencySettings
    let clock: any WallClock
    let maxBodyBytes: Int
    let trustedProxies: Set<String>

    static let keyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!
    /// What a replay repeats besides the status and body.
    static let keptHeaders: [HTTPField.Name] = [
        .contentType, .location, .eTag, .lastModified, .link, .retryAfter, HTTPField.Name("X-Content-Type-Options")!,
    ]

    /// Whether anonymous requests need a key (`auth.mode` required): then only public routes
    /// (subscribing, unsubscribing, confirming) take an anonymous request's key.
    let keysRequired: Bool

    func handle(
        _ request: Request, context: Context, isPublic: Bool, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard [.post, .put, .patch, .delete].contains(request.method), let key = request.headers[Self.keyHeader],
            context.principal != nil || isPublic || !keysRequired
        else {
            return try await next(request, context)
        }
        guard IdempotentRequest.isValidKey(key) else {
            throw AppError(
                .badRequest, code: "invalid_idempotency_key", message: "Idempotency-Key must be 1 to 255 visible ASCII characters")
        }
        var request = request
        let body = try await collectBody(&request)
        let scope =
            context.principal.map { "account:\($0.accountID)" }
            ?? "client:"
            + ClientAddress.resolve(
                peer: context.peerAddress, forwardedFor: request.headers[.xForwardedFor], trustedProxies: trustedProxies)
        let now = clock.now()
        let claim = try await store.claim(
            IdempotentRequest(scope: scope, key: key, method: request.method.rawValue, target: request.uri.description, body: body),
            now: now, lockMilliseconds: settings.lockMilliseconds, expiresAt: now.adding(milliseconds: settings.ttlMilliseconds))
        switch claim {
        case .replay(let stored):
            var response = Response(stored)
            response.headers[Self.replayedHeader] = "true"
            return response
        case .mismatch:
            throw AppError(
                .validation, code: "idempotency_key_reused",
                message: "this Idempotency-Key was used with another request (method, URL or body); use a new key for a new request")
        case .inProgress:
            var error = AppError(
                .conflict, code: "idempotency_key_in_use",
                message: "a request with this Idempotency-Key is still being processed; retry later")
            error.retryAfterSeconds = 1
            throw error
        case .claimed:
            return try await run(request, context, scope: scope, key: key, next: next)
        }
    }

    private func run(
        _ request: Request, _ context: Context, scope: String, key: String, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let write = IdempotentWrite(scope: scope, key: key)
        let response: Response
        do {
            response = try await IdempotentWrite.$current.withValue(write) { try await next(request, context) }
        } catch let error as AppError where error.kind != .internalError && error.kind != .unavailable {
            // A refusal is the answer too: the same retry gets the same refusal.
            let answer = try error.response(from: request, context: context)
            return try await keep(answer, scope: scope, key: key)
        } catch {
            try? await store.release(scope: scope, key: key)
            throw error
        }
        guard response.status.code < 500 else {
            try? await store.release(scope: scope, key: key)
            return response
        }
        return try await keep(response, scope: scope, key: key)
    }

    /// Records `response` unless the write recorded it already, and returns it with its body
    /// still readable.
    private func keep(_ response: Response, scope: String, key: String) async throws -> Response {
        var response = response
        let body = try await Self.collect(response.body)
        response.body = .init(byteBuffer: body)
        let headers = Self.keptHeaders.compactMap { name in response.headers[name].map { (name: name.rawName, value: $0) } }
        try await store.complete(
            scope: scope, key: key, response: StoredResponse(status: Int(response.status.code), headers: headers, body: Array(buffer: body))
        )
        return response
    }

    private func collectBody(_ request: inout Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw RequestInput.tooLarge(maxBodyBytes)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw RequestInput.tooLarge(maxBodyBytes)
        }
        request.body = .init(buffer: buffer)
        return Array(buffer: buffer)
    }

    static func collect(_ body: ResponseBody) async throws -> ByteBuffer {
        let collector = Collector()
        try await body.write(collector)
        return collector.buffer.withLock { $0 }
    }

    /// Gathers a response body's bytes.
    final class Collector: ResponseBodyWriter, Sendable {
        let buffer = Mutex(ByteBuffer())

        func write(_ part: ByteBuffer) async throws {
            buffer.withLock { buffer in
                var part = part
                buffer.writeBuffer(&part)
            }
        }

        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

extension Response {
    /// An answer as it is stored for replay.
    init(_ stored: StoredResponse) {
        var headers = HTTPFields()
        for (name, value) in stored.headers {
            if let name = HTTPField.Name(name) { headers[name] = value }
        }
        self.init(
            status: HTTPResponse.Status(code: stored.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
    }
}

extension StoredResponse {
    /// A JSON answer written by `write`, with `headers` besides the media type.
    static func json(
        status: HTTPResponse.Status, headers: [(name: String, value: String)] = [], capacity: Int = 256, _ write: (inout JSONWriter) -> Void
    ) -> StoredResponse {
        var writer = JSONWriter(capacity: capacity)
        write(&writer)
        return StoredResponse(
            status: Int(status.code),
            headers: [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")] + headers, body: writer.bytes)
    }
}
