import CCrypto
import FoundationEssentials

/// Zendesk's webhook signature: base64(HMAC-SHA256(key: secret as UTF-8 text,
/// message: signature-timestamp header text + raw body)).
/// https://developer.zendesk.com/documentation/webhooks/verifying/ (see
/// shared/reference/zendesk-api.md §2.2 for the message-order conflict and why
/// timestamp-then-body is right).
public enum WebhookSignature {
    /// The raw 32-byte HMAC-SHA256 of `timestamp + body`.
    public static func mac(secret: String, timestamp: String, body: [UInt8]) -> [UInt8] {
        var message = Array(timestamp.utf8)
        message.append(contentsOf: body)
        return hmacSHA256(key: Array(secret.utf8), message: message)
    }

    /// The header value Zendesk sends.
    public static func sign(secret: String, timestamp: String, body: [UInt8]) -> String {
        String(decoding: base64(mac(secret: secret, timestamp: timestamp, body: body)), as: UTF8.self)
    }

    /// Constant-time check of a received signature header: the expected signature's base64
    /// text against the header's, byte for byte (surrounding spaces ignored).
    public static func isValid(signature: String, secret: String, timestamp: String, body: [UInt8]) -> Bool {
        var given = Array(signature.utf8)[...]
        while given.first == 0x20 { given.removeFirst() }
        while given.last == 0x20 { given.removeLast() }
        let expected = base64(mac(secret: secret, timestamp: timestamp, body: body))
        guard given.count == expected.count else { return false }
        return given.withUnsafeBytes { g in
            expected.withUnsafeBytes { e in CRYPTO_memcmp(g.baseAddress, e.baseAddress, e.count) == 0 }
        }
    }

    /// Standard base64 with padding (RFC 4648 §4), for the 32-byte MAC.
    static func base64(_ bytes: [UInt8]) -> [UInt8] {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], 61]
        }
        return out
    }

    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self),
                         m.count, &out, &length)
            }
        }
        return Array(out[0..<Int(length)])
    }
}
