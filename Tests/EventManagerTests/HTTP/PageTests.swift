import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerHTTP
@testable import EventManagerStorage

/// The public pages over HTTP: what they show, what they escape, what the subscribe form does
/// with every kind of answer, and that their errors are pages too.
@Suite(.resources) struct PageTests {
    static func doubleOptIn(_ configuration: inout AppConfiguration) { configuration.reminders.confirmSubscriptions = true }

    func form(_ client: any TestClientProtocol, _ path: String, _ body: String, origin: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let origin { headers[.origin] = origin }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    @Test(arguments: Backend.all) func theListShowsWhatIsComingSearchesAndPages(backend: Backend) async throws {
        let clock = ManualClock("2030-06-01T12:00:00Z")
        try await withTestApp(backend: backend, clock: clock) { client, _ in
            try await client.createEvent(title: "Past meetup", date: "2030-05-01")
            for day in 1...22 { try await client.createEvent(title: "Talk \(day)", date: String(format: "2030-07-%02d", day)) }
            try await client.createEvent(title: "<b>Bold</b> & co", location: "Hall A", date: "2030-08-01")
            let first = try await client.send(.get, "/")
            #expect(first.status == .ok)
            #expect(first.headers[.contentType] == "text/html; charset=utf-8")
            #expect(first.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(first.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            let html = String(buffer: first.body)
            #expect(html.contains("<html lang=\"en\">"))
            #expect(!html.contains("Past meetup"), "only what is coming")
            #expect(html.contains("Talk 1<") && html.contains("Talk 20<") && !html.contains("Talk 21<"))
            let next = try #require(html.range(of: #"href="(/\?cursor=[^"]+)" rel="next""#, options: .regularExpression))
            let link = String(html[next]).dropFirst(6).prefix { $0 != "\"" }.replacingOccurrences(of: "&amp;", with: "&")
            let second = String(buffer: try await client.send(.get, link).body)
            #expect(second.contains("Talk 21<") && second.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; co"))
            #expect(!second.contains("<b>Bold</b>"))
            let found = String(buffer: try await client.send(.get, "/?q=bold").body)
            #expect(found.contains("&lt;b&gt;Bold") && !found.contains("Talk 1<"))
            #expect(found.contains(#"value="bold""#), "the search box keeps the query")
            let located = String(buffer: try await client.send(.get, "/?location=Hall%20A").body)
            #expect(located.contains("&lt;b&gt;Bold") && !located.contains("Talk 1<"), "the list's other filters work too")
            let none = String(buffer: try await client.send(.get, "/?q=%3Cscript%3E").body)
            #expect(none.contains("No upcoming events match “&lt;script&gt;”"))
            let bad = try await client.send(.get, "/?start_date=soon")
            #expect(bad.status == .badRequest)
            #expect(String(buffer: bad.body).contains("role=\"alert\""))
        }
    }

    @Test(arguments: Backend.all) func theSubscribeFormAnswersEveryCaseInWords(backend: Backend) async throws {
        let clock = ManualClock("2030-06-01T12:00:00Z")
        try await withTestApp(backend: backend, clock: clock) { client, store in
            try await client.createEvent(
                title: "Launch", location: "Hall", date: "2030-06-02T09:00:00+02:00", extra: #","timezone":"Europe/Paris""#)
            let page = String(buffer: try await client.send(.get, "/e/1").body)
            #expect(
                page.contains(
                    #"<time datetime="2030-06-02T07:00:00Z" data-local data-zone="Europe/Paris">Sunday 2 June 2030, 09:00 (Europe/Paris)</time>"#
                ))
            #expect(page.contains(#"<label for="email">Email address</label>"#))
            #expect(page.contains(#"href="/events/1.ics""#) && page.contains("calendar.google.com") && page.contains("webcal://"))

            // A bad address: the form again, the message beside the field, the value kept.
            let bad = try await form(client, "/e/1/subscribe", "email=ann%40&minutes=60")
            #expect(bad.status == .unprocessableContent)
            let badPage = String(buffer: bad.body)
            #expect(badPage.contains(#"value="ann@" aria-invalid="true" aria-describedby="email-error""#))
            #expect(badPage.contains(#"<p class="error" id="email-error">"#))
            #expect(badPage.contains(#"<option value="60" selected>"#))
            #expect(try await form(client, "/e/1/subscribe", "minutes=60").status == .unprocessableContent)

            // From another site: refused, nothing written.
            let forged = try await form(client, "/e/1/subscribe", "email=ann%40example.com", origin: "https://evil.example")
            #expect(forged.status == .forbidden)
            #expect(try await store.sqlRaw("SELECT COUNT(*) AS n FROM subscriptions").first()?.decode(column: "n", as: Int.self) == 0)

            let good = try await form(client, "/e/1/subscribe", "email=ann%40example.com&minutes=60", origin: "http://127.0.0.1:8000")
            #expect(good.status == .created)
            let goodPage = String(buffer: good.body)
            #expect(goodPage.contains("<h1>Subscribed</h1>") && goodPage.contains("1 hour before"))
            #expect(goodPage.contains(#"href="webcal://127.0.0.1:8000/calendar/"#))
            let minutes = try await store.sqlRaw("SELECT remind_before_minutes AS m FROM subscriptions").first()
            #expect(try minutes?.decode(column: "m", as: Int.self) == 60)
            let again = try await form(client, "/e/1/subscribe", "email=ANN%40example.com")
            #expect(again.status == .ok)
            #expect(String(buffer: again.body).contains("<h1>Already subscribed</h1>"))

            // Too late, and an event that does not exist: pages too.
            clock.advance(milliseconds: 86_400_000)
            #expect(String(buffer: try await client.send(.get, "/e/1").body).contains("This event has started"))
            let late = try await form(client, "/e/1/subscribe", "email=bob%40example.com")
            #expect(late.status == .conflict)
            #expect(String(buffer: late.body).contains("<h1>The event has started</h1>"))
            let missing = try await client.send(.get, "/e/99")
            #expect(missing.status == .notFound)
            #expect(missing.headers[.contentType] == "text/html; charset=utf-8")
            #expect(String(buffer: missing.body).contains("<h1>Not found</h1>"))
            let asset = try await client.send(.get, "/assets/site.css")
            #expect(asset.headers[.contentType] == "text/css; charset=utf-8")
            #expect(String(buffer: asset.body).contains(":focus-visible"))
        }
    }

    @Test func doubleOptInSaysCheckYourInboxAndRefusalsArePages() async throws {
        var limits = RateLimitSettings()
        limits.subscribePerEmail = [RateLimit("1 per hour")!]
        let clock = ManualClock("2030-06-01T12:00:00Z")
        try await withTestApp(clock: clock, rateLimits: limits, configure: Self.doubleOptIn) { client, _ in
            try await client.createEvent(title: "Launch", date: "2030-06-09")
            try await client.createEvent(title: "Second", date: "2030-06-10")
            let pending = try await form(client, "/e/1/subscribe", "email=ann%40example.com")
            #expect(pending.status == .created)
            #expect(String(buffer: pending.body).contains("<h1>Check your inbox</h1>"))
            let limited = try await form(client, "/e/2/subscribe", "email=ann%40example.com")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] != nil)
            #expect(String(buffer: limited.body).contains("<h1>Too many requests</h1>"))
            // The confirm page shares the look.
            let confirm = String(buffer: try await client.send(.get, "/confirm?token=abc").body)
            #expect(confirm.contains(#"<link rel="stylesheet" href="/assets/site.css">"#))
            #expect(confirm.contains(#"<form method="post" action="/confirm?token=abc">"#))
        }
    }
}
