import Foundation
import HummingbirdTesting
import ServiceLifecycle
import Testing

@testable import EventManager
@testable import EventManagerCore

/// The server against clients that break HTTP/1.1, over a real socket: every answer is a 4xx or
/// 5xx with the JSON error body, never a 500 and never a hang.
@Suite(.resources, .timeLimit(.minutes(1))) struct HTTPProtocolTests {
    let event = #"{"title":"t","location":"l","date":"2030-01-01"}"#

    /// Answers `raw` on a fresh connection with everything the server sent before closing.
    func answer(_ raw: String, port: Int) async throws -> String {
        let connection = try RawConnection(port: port)
        connection.send(raw)
        let (text, closed) = await connection.readUntilClosed()
        #expect(closed, "the server closes after a request it refuses: \(raw.prefix(60))")
        return text
    }

    func status(_ text: String) -> Int? { text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } }

    @Test func malformedRequestsGetTheirOwnStatusAndTheJSONBody() async throws {
        let configure: (inout AppConfiguration) -> Void = { $0.limits.maxBodyBytes = 1024 }
        try await withTestApp(setup: .live, configure: configure) { client, _ async throws in
            let port = try #require(client.port)
            let post = "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            let chunks = String(repeating: "40\r\n\(String(repeating: "a", count: 64))\r\n", count: 20) + "0\r\n\r\n"
            let cases: [(String, Int, String)] = [
                ("GET /events HTTP/1.1\r\n\r\n", 400, "bad_host"),
                ("GET /events HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad_host"),
                // Answers to CONNECT carry no body (RFC 9110 9.3.6); the close delimits it.
                ("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501, ""),
                (post + "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501, "unsupported_transfer_coding"),
                (post + "Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501, "unsupported_transfer_coding"),
                (post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400, "malformed_request"),
                (post + "Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n", 400, "malformed_request"),
                (post + "Transfer-Encoding: chunked\r\n\r\n" + chunks, 413, "body_too_large"),
                (post + "Content-Length: 5000\r\n\r\n{", 413, "body_too_large"),
                ("GET /ev\u{7F}ents HTTP/1.1\r\nHost: x\r\n\r\n", 400, ""),
                ("GET /events?q=%FF%FE HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400, "malformed_query"),
                ("GET /events?q=a%00zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400, "invalid_parameter"),
            ]
            for (raw, expected, code) in cases {
                let text = try await answer(raw, port: port)
                #expect(status(text) == expected, "\(raw.prefix(60).debugDescription) -> \(text.prefix(80).debugDescription)")
                if !code.isEmpty { #expect(text.contains("\"code\":\"\(code)\""), "\(raw.prefix(60).debugDescription)") }
            }
        }
    }

    /// Bytes that are not UTF-8 in the path or the query, and JSON nested a hundred thousand deep.
    @Test func invalidUTF8AndDeepNestingAre400s() async throws {
        try await withTestApp(setup: .live) { client, _ async throws in
            let port = try #require(client.port)
            for raw in [
                Array("GET /ev".utf8) + [0xFF, 0xFE] + Array("ents HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                Array("GET /events?title=".utf8) + [0xC3, 0x28] + Array(" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8),
            ] {
                let connection = try RawConnection(port: port)
                connection.send(raw)
                let (text, _) = await connection.readUntilClosed()
                #expect(status(text) == 400, "\(text.prefix(80).debugDescription)")
            }
            let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            let response = try await client.send(.post, "/bulk_events", json: deep)
            #expect(response.status == .badRequest)
            #expect(try response.errorCode() == "too_deep")
        }
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() async throws {
        try await withTestApp(setup: .live) { client, _ async throws in
            let connection = try RawConnection(port: try #require(client.port))
            connection.send(
                "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                    + "Content-Length: \(event.utf8.count)\r\n\r\n")
            #expect(await connection.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 100 Continue"))
            connection.send(event)
            #expect(await connection.read(until: "}").hasPrefix("HTTP/1.1 201 Created"))
        }
    }

    /// A client that stops sending, at any phase, loses its connection at that phase's deadline.
    @Test func slowAndSilentClientsAreDisconnected() async throws {
        let configure: (inout AppConfiguration) -> Void = {
            $0.server.headerTimeout = .milliseconds(300)
            $0.server.bodyTimeout = .milliseconds(300)
            $0.server.idleTimeout = .milliseconds(500)
        }
        try await withTestApp(setup: .live, configure: configure) { client, _ async throws in
            let port = try #require(client.port)
            let silent = try RawConnection(port: port)
            #expect(await silent.readUntilClosed().closed, "a connection that sends nothing")
            let slowHead = try RawConnection(port: port)
            slowHead.send("GET /eve")
            #expect(await slowHead.readUntilClosed().closed, "a request line that never ends")
            let slowBody = try RawConnection(port: port)
            slowBody.send("POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{")
            #expect(await slowBody.readUntilClosed().closed, "a body that never ends")
            let idle = try RawConnection(port: port)
            idle.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let (text, closed) = await idle.readUntilClosed()
            #expect(text.hasPrefix("HTTP/1.1 200 OK") && closed, "an idle keep-alive connection, after its answer")
            // Keep-alive itself still works within the deadline.
            let kept = try RawConnection(port: port)
            for _ in 0..<2 {
                kept.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(await kept.read(until: "}").hasPrefix("HTTP/1.1 200 OK"))
            }
            // Its timer, moved lazily from phase to phase, still ends a slow request that follows.
            kept.send("POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{")
            #expect(await kept.readUntilClosed().closed, "a slow body after answered requests")
        }
    }

    /// Past `app.max_connections` the server stops accepting: a further client waits in the
    /// backlog, unanswered, until a connection closes, and is then served. (Run as the executable
    /// runs it: Hummingbird's live test set-up drops the connection limit when it picks a port.)
    @Test func connectionsAreCapped() async throws {
        let database = try await TemporaryDatabase.make()
        var configuration = testConfiguration(database)
        configuration.server.maxConnections = 1
        configuration.port = 0
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let app = try await buildApplication(
            configuration: configuration, dependencies: AppDependencies(logger: quietLogger()) { listening.yield($0) })
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: quietLogger())
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next(), "the server said where it listens")
        let first = try RawConnection(port: port)
        first.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await first.read(until: "}").hasPrefix("HTTP/1.1 200 OK"), "the first connection is served and kept open")
        let second = try RawConnection(port: port, timeout: .seconds(1))
        second.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let waiting = await second.readUntilClosed()
        #expect(waiting.text.isEmpty && !waiting.closed, "not served while the first connection is open")
        first.close()
        let served = try RawConnection(port: port)
        served.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(await served.readUntilClosed().text.hasPrefix("HTTP/1.1 200 OK"), "served once the first closed")
        await group.triggerGracefulShutdown()
        _ = await running.result
    }

    /// A client that hangs up mid-body is its own failure: the request is counted as a 400,
    /// not a 500, and the service keeps serving.
    @Test func aClientClosingMidBodyIsNotAServerError() async throws {
        try await withTestApp(setup: .live) { client, _ async throws in
            let connection = try RawConnection(port: try #require(client.port))
            connection.send("POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"ti")
            connection.close()
            // Each look at the metrics is a round trip; the abandoned request shows up within a few.
            var statuses = ""
            for _ in 0..<200 where !statuses.contains("status=\"400\"") {
                let metrics = String(buffer: try await client.send(.get, "/metrics").body)
                statuses = metrics.split(separator: "\n").filter { $0.hasPrefix("http_requests_total{route=\"/events\",method=\"POST\"") }
                    .joined(separator: "\n")
            }
            #expect(statuses.contains("status=\"400\""), "\(statuses)")
            #expect(!statuses.contains("status=\"500\""))
            #expect(try await client.send(.get, "/health").status == .ok)
        }
    }
}
