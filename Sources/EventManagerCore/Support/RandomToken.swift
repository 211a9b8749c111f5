import Foundation

/// Unguessable URL-safe strings: subscription tokens, Message-ID parts.
public enum RandomToken {
    /// `bytes` random bytes (256 bits by default) as base64url without padding.
    public static func make(bytes count: Int = 32) -> String {
        Data(randomBytes(count)).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// `bytes` random bytes as standard base64 with padding (webhook secrets, as Standard Webhooks writes them).
    public static func standardBase64(bytes count: Int) -> String {
        Data(randomBytes(count)).base64EncodedString()
    }

    /// `bytes` random bytes as lower-case hex.
    public static func hex(bytes count: Int) -> String {
        randomBytes(count).map { String(format: "%02x", $0) }.joined()
    }

    private static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
