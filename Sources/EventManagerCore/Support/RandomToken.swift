import Foundation

/// Unguessable URL-safe strings: subscription tokens, Message-ID parts.
///
/// Subscribing makes two of these inside the write's transaction, so they are made without
/// Foundation's formatting: a profile of `POST /events/{id}/subscriptions` showed a tenth of the
/// server's CPU in a system call per random byte, `String(format:)` per hex digit pair and three
/// `replacingOccurrences` passes.
public enum RandomToken {
    /// `bytes` random bytes (256 bits by default) as base64url without padding.
    public static func make(bytes count: Int = 32) -> String {
        encode(randomBytes(count), alphabet: urlAlphabet, padded: false)
    }

    /// `bytes` random bytes as standard base64 with padding (webhook secrets, as Standard Webhooks writes them).
    public static func standardBase64(bytes count: Int) -> String {
        encode(randomBytes(count), alphabet: standardAlphabet, padded: true)
    }

    /// `bytes` random bytes as lower-case hex.
    public static func hex(bytes count: Int) -> String {
        lowercaseHex(randomBytes(count))
    }

    /// `bytes` as lower-case hex, two digits each (key hashes too).
    public static func lowercaseHex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Base64 (RFC 4648) of `bytes` in `alphabet`, with or without `=` padding.
    static func encode(_ bytes: [UInt8], alphabet: [UInt8], padded: Bool) -> String {
        var text: [UInt8] = []
        text.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let available = min(3, bytes.count - index)
            let first = UInt32(bytes[index])
            let second = available > 1 ? UInt32(bytes[index + 1]) : 0
            let third = available > 2 ? UInt32(bytes[index + 2]) : 0
            let group = first << 16 | second << 8 | third
            for position in 0..<4 {
                if position <= available {
                    text.append(alphabet[Int((group >> UInt32(18 - 6 * position)) & 0x3F)])
                } else if padded {
                    text.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Random bytes from the system's generator, in one call: `SystemRandomNumberGenerator`
    /// makes a system call per eight bytes (six per subscription).
    private static func randomBytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            fillRandom(buffer)
            initialized = count
        }
    }

    private static func fillRandom(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        // The kernel's generator (getrandom) on Linux since glibc 2.36, the system's elsewhere.
        guard let start = buffer.baseAddress, !buffer.isEmpty else { return }
        arc4random_buf(start, buffer.count)
    }
}
