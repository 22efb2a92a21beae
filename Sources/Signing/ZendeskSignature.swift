/// Zendesk's webhook signature: base64(HMAC-SHA256(key: secret as UTF-8 text,
/// message: signature-timestamp header text + raw body)).
/// https://developer.zendesk.com/documentation/webhooks/verifying/ (see
/// shared/reference/zendesk-api.md §2.2 for the message-order conflict and why
/// timestamp-then-body is right).
public enum ZendeskSignature {
    /// The raw 32-byte HMAC-SHA256 of `timestamp + body`, nil if libcrypto failed.
    public static func mac(secret: String, timestamp: String, body: [UInt8]) -> [UInt8]? {
        var message = Array(timestamp.utf8)
        message.append(contentsOf: body)
        return MessageAuthentication.hmac(.sha256, key: Array(secret.utf8), message: message)
    }

    /// The header value Zendesk sends (empty, which never verifies, if libcrypto failed).
    public static func sign(secret: String, timestamp: String, body: [UInt8]) -> String {
        mac(secret: secret, timestamp: timestamp, body: body).map(Base64.encode) ?? ""
    }

    /// Constant-time check of a received signature header: the expected signature's base64
    /// text against the header's, byte for byte (surrounding spaces ignored).
    public static func isValid(signature: String, secret: String, timestamp: String, body: [UInt8]) -> Bool {
        var given = Array(signature.utf8)[...]
        while given.first == 0x20 { given.removeFirst() }
        while given.last == 0x20 { given.removeLast() }
        guard let mac = mac(secret: secret, timestamp: timestamp, body: body) else { return false }
        return MessageAuthentication.constantTimeEqual(given, Base64.encodeBytes(mac))
    }
}
