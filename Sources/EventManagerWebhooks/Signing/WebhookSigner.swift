import Crypto
import EventManagerCore
import Foundation

/// Signs webhook messages as Standard Webhooks specifies (standardwebhooks.com).
///
/// The receiver recomputes `base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>"))`
/// with the secret it was shown once, compares it in constant time with `webhook-signature`,
/// and rejects timestamps far from its clock, so a captured request cannot be replayed later.
/// The timestamp is the attempt's, not the message's: every retry is signed afresh.
public struct WebhookSigner: Sendable {
    public init() {}

    /// The three headers of one attempt.
    public func headers(messageID: String, timestamp: Timestamp, body: [UInt8], secret: String) throws(WebhookSigningError)
        -> [(name: String, value: String)]
    {
        let seconds = String(timestamp.millisecondsSinceEpoch / 1000)
        return [
            ("webhook-id", messageID), ("webhook-timestamp", seconds),
            ("webhook-signature", "v1," + (try signature(messageID: messageID, seconds: seconds, body: body, secret: secret))),
        ]
    }

    /// The base64 signature of one attempt.
    public func signature(messageID: String, seconds: String, body: [UInt8], secret: String) throws(WebhookSigningError) -> String {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let key = Data(base64Encoded: encoded), !key.isEmpty else { throw WebhookSigningError.invalidSecret }
        var content = Data("\(messageID).\(seconds).".utf8)
        content.append(contentsOf: body)
        let code = HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: key))
        return Data(code).base64EncodedString()
    }
}

public enum WebhookSigningError: Error, Sendable {
    /// The stored secret is not `whsec_` and base64.
    case invalidSecret
}
