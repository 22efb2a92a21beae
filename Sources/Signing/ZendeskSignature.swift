/// Zendesk's webhook signature: base64(HMAC-SHA256(key: secret as UTF-8 text,
/// message: signature-timestamp header text + raw body)).
/// https://developer.zendesk.com/documentation/webhooks/verifying/ (see
/// shared/reference/zendesk-api.md §2.2 for the message-order conflict and why
/// timestamp-then-body is right).
public enum ZendeskSignature {
    /// The raw 32-byte HMAC-SHA256 of `timestamp + body`, nil if libcrypto failed.
    public static func mac(secret: String, timestamp: String, body: [UInt8]) -> [UInt8]? {
        withMAC(secret: secret, timestamp: timestamp, body: body) { $0.map(Array.init) }
    }

    /// The header value Zendesk sends (empty, which never verifies, if libcrypto failed).
    public static func sign(secret: String, timestamp: String, body: [UInt8]) -> String {
        mac(secret: secret, timestamp: timestamp, body: body).map(Base64.encode) ?? ""
    }

    /// Constant-time check of a received signature header: the expected signature's base64
    /// text against the header's, byte for byte (surrounding spaces ignored). Runs per
    /// request on an event loop, so it allocates nothing beyond the message it signs.
    public static func isValid(signature: String, secret: String, timestamp: String, body: [UInt8]) -> Bool {
        var signature = signature
        return signature.withUTF8 { given in
            var lo = 0, hi = given.count
            while lo < hi, given[lo] == 0x20 { lo += 1 }
            while hi > lo, given[hi - 1] == 0x20 { hi -= 1 }
            let trimmed = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(given)[lo..<hi])
            return withMAC(secret: secret, timestamp: timestamp, body: body) { mac in
                guard let mac else { return false }
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Base64.encodedCount(mac.count)) { text in
                    let expected = UnsafeMutableBufferPointer(rebasing: text[..<Base64.encode(mac, into: text)])
                    return MessageAuthentication.constantTimeEqual(trimmed, UnsafeRawBufferPointer(expected))
                }
            }
        }
    }

    /// The HMAC of `timestamp + body` in a stack buffer, handed to `use` (nil if libcrypto
    /// failed); nothing is allocated or copied.
    private static func withMAC<R>(secret: String, timestamp: String, body: [UInt8],
                                   _ use: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        var secret = secret, timestamp = timestamp
        return secret.withUTF8 { key in
            timestamp.withUTF8 { stamp in
                body.withUnsafeBytes { payload in
                    MessageAuthentication.withDigest(.sha256, key: UnsafeRawBufferPointer(key), message: UnsafeRawBufferPointer(stamp),
                                                     payload, use)
                }
            }
        }
    }
}
