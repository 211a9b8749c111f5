import Foundation
import PropertyBased
import Testing

@testable import EventManagerCore
@testable import EventManagerWebhooks

/// The webhook rules without a database or a socket: signing, the address policy, the retry
/// schedule, what an answer means, and what a registration may say.
@Suite struct WebhookRulesTests {
    /// The example of the Standard Webhooks specification, computed there by other implementations.
    @Test func signaturesMatchTheStandardWebhooksExample() throws {
        let signer = WebhookSigner()
        let signature = try signer.signature(
            messageID: "msg_p5jXN8AQM9LWM0D4loKWxJek", seconds: "1614265330", body: Array(#"{"test": 2432232314}"#.utf8),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        #expect(signature == "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        let headers = try signer.headers(
            messageID: "msg_1", timestamp: Timestamp(millisecondsSinceEpoch: 1_614_265_330_999), body: [],
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        #expect(headers.map(\.name) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
        #expect(headers[1].value == "1614265330")
        #expect(headers[2].value.hasPrefix("v1,"))
        #expect(throws: WebhookSigningError.self) { try signer.signature(messageID: "m", seconds: "1", body: [], secret: "whsec_!!") }
    }

    @Test func newSecretsAreTwentyFourRandomBytes() {
        let secret = Webhook.makeSecret()
        #expect(secret.hasPrefix("whsec_"))
        #expect(Data(base64Encoded: String(secret.dropFirst(6)))?.count == 24)
        #expect(secret != Webhook.makeSecret())
    }

    @Test(arguments: [
        ("127.0.0.1", false), ("10.0.0.8", false), ("172.16.5.4", false), ("172.32.0.1", true), ("192.168.1.1", false),
        ("169.254.169.254", false), ("100.64.0.1", false), ("100.128.0.1", true), ("0.0.0.0", false), ("224.0.0.1", false),
        ("255.255.255.255", false), ("198.18.0.1", false), ("192.0.2.1", false), ("8.8.8.8", true), ("93.184.216.34", true),
        ("::1", false), ("::", false), ("fe80::1", false), ("fd00::1", false), ("ff02::1", false), ("2001:db8::1", false),
        ("::ffff:127.0.0.1", false), ("::ffff:8.8.8.8", true), ("64:ff9b::10.0.0.1", false), ("2606:4700::1111", true),
        ("[::1]", false),
    ])
    func onlyPublicUnicastAddressesAreCalled(address: String, isPublic: Bool) throws {
        let bytes = try #require(WebhookAddressPolicy.literal(address))
        #expect(WebhookAddressPolicy.isPublic(bytes) == isPublic)
        #expect(WebhookAddressPolicy(allowPrivate: true).permits(bytes))
    }

    @Test func namesAreNotLiterals() {
        #expect(WebhookAddressPolicy.literal("hooks.example.com") == nil)
        #expect(WebhookAddressPolicy.isLocalName("LOCALHOST."))
        #expect(WebhookAddressPolicy.isLocalName("api.localhost"))
        #expect(!WebhookAddressPolicy.isLocalName("localhost.example.com"))
    }

    /// Any IPv4 address mapped into IPv6 is judged as the IPv4 address itself.
    @Test func mappedAddressesAreJudgedAsTheirIPv4() async {
        await propertyCheck(count: 500, input: Gen.uint32()) { value in
            let v4 = withUnsafeBytes(of: value.bigEndian) { Array($0) }
            let mapped = [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + v4
            #expect(WebhookAddressPolicy.isPublic(mapped) == WebhookAddressPolicy.isPublic(v4))
        }
    }

    @Test func retriesFollowTheScheduleForThreeDaysThenGiveUp() {
        let plan = WebhookRetryPlan()
        let created = Timestamp(millisecondsSinceEpoch: 0)
        var now = created
        var delays: [Int64] = []
        var attempts = 0
        while true {
            attempts += 1
            guard case .retry(let at) = plan.afterFailure(attempts: attempts, createdAt: created, now: now) else { break }
            delays.append((at.millisecondsSinceEpoch - now.millisecondsSinceEpoch) / 1000)
            now = at
        }
        #expect(Array(delays.prefix(7)) == [5, 300, 1800, 7200, 18_000, 36_000, 36_000])
        #expect(now.millisecondsSinceEpoch <= 3 * 86_400_000)
        #expect(now.millisecondsSinceEpoch > 3 * 86_400_000 - 36_000_000)
    }

    @Test func whatAnAnswerMeans() {
        let (plan, created, now) = (WebhookRetryPlan(), Timestamp(millisecondsSinceEpoch: 0), Timestamp(millisecondsSinceEpoch: 1000))
        func decide(_ result: WebhookAttemptResult, attempts: Int = 1, at: Timestamp = now) -> WebhookOutcome {
            WebhookOutcome.decide(result, attempts: attempts, createdAt: created, now: at, plan: plan)
        }
        #expect(decide(.answered(status: 204, latencyMilliseconds: 3)) == .delivered(at: now))
        #expect(decide(.answered(status: 410, latencyMilliseconds: 3)) == .failed(disableEndpoint: "the endpoint answered 410 Gone"))
        #expect(decide(.answered(status: 302, latencyMilliseconds: 3)) == .retry(at: now.adding(milliseconds: 5000)))
        #expect(decide(.answered(status: 500, latencyMilliseconds: 3), attempts: 2) == .retry(at: now.adding(milliseconds: 300_000)))
        #expect(decide(.failed(reason: "timed out", latencyMilliseconds: 10_000)) == .retry(at: now.adding(milliseconds: 5000)))
        let late = Timestamp(millisecondsSinceEpoch: 3 * 86_400_000 - 1000)
        #expect(
            decide(.answered(status: 503, latencyMilliseconds: 1), attempts: 12, at: late)
                == .failed(disableEndpoint: "no successful delivery for 3 days"))
    }

    @Test func registrationsSayWhatIsWrong() throws {
        let policy = WebhookAddressPolicy()
        func check(_ text: String, partial: Bool = false) -> Result<WebhookRegistration, AppError> {
            WebhookRegistration.validate(try! JSONParser.parse(Array(text.utf8)), partial: partial, policy: policy)
        }
        let good = try check(#"{"url":"https://hooks.example.com/in?x=1","events":["reminder.failed","event.created"]}"#).get()
        #expect(good.eventTypes == [.eventCreated, .reminderFailed])
        for (body, field, code) in [
            (#"{"events":["event.created"]}"#, "url", "required"),
            (#"{"url":"https://user:pw@hooks.example.com/","events":["event.created"]}"#, "url", "invalid_url"),
            (#"{"url":"https://hooks.example.com/#x","events":["event.created"]}"#, "url", "invalid_url"),
            (#"{"url":"hooks.example.com","events":["event.created"]}"#, "url", "invalid_url"),
            (#"{"url":"https://hooks.example.com/","events":[]}"#, "events", "empty"),
            (#"{"url":"https://hooks.example.com/","events":["webhook.ping"]}"#, "events[0]", "unknown_event_type"),
            (#"{"url":"https://hooks.example.com/","events":"event.created"}"#, "events", "invalid_type"),
            (#"{"url":"https://hooks.example.com/","events":["event.created"],"active":"yes"}"#, "active", "invalid_type"),
            (#"{"url":"https://hooks.example.com/","events":["event.created"],"secret":"x"}"#, "secret", "unknown_field"),
        ] {
            guard case .failure(let error) = check(body), case .fields(let fields)? = error.details else {
                Issue.record("accepted \(body)")
                continue
            }
            #expect(fields.contains { $0.field == field && $0.code == code }, "\(body): \(fields)")
        }
        #expect(try check(#"{"active":true}"#, partial: true).get() == WebhookRegistration(url: nil, eventTypes: nil, active: true))
        let long = "https://hooks.example.com/" + String(repeating: "a", count: 2100)
        #expect((try? check(#"{"url":"\#(long)","events":["event.created"]}"#).get()) == nil)
    }
}
