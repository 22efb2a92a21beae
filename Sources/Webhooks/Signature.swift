import CCrypto
import Foundation

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
        Data(mac(secret: secret, timestamp: timestamp, body: body)).base64EncodedString()
    }

    /// Constant-time check of a received signature header.
    public static func isValid(signature: String, secret: String, timestamp: String, body: [UInt8]) -> Bool {
        guard let given = Data(base64Encoded: signature.trimmingCharacters(in: .whitespaces)), given.count == 32 else { return false }
        let expected = mac(secret: secret, timestamp: timestamp, body: body)
        return given.withUnsafeBytes { g in
            expected.withUnsafeBytes { e in CRYPTO_memcmp(g.baseAddress, e.baseAddress, 32) == 0 }
        }
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
