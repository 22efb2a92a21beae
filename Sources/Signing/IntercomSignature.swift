/// Intercom's notification signature: `X-Hub-Signature: sha1=HEX`, the HMAC-SHA1 (hex, 40
/// digits) of the raw request body keyed with the app's client secret. No timestamp is
/// signed. https://developers.intercom.com/docs/references/webhooks/webhook-models
/// ("Signed notifications"; shared/reference/intercom-and-webhook-practice.md §2.4).
public enum IntercomSignature {
    /// The header Intercom sends the signature in.
    public static let header = "X-Hub-Signature"
    static let prefix = "sha1="

    /// The 20-byte HMAC-SHA1 of `body`, nil if libcrypto failed.
    public static func mac(secret: String, body: [UInt8]) -> [UInt8]? {
        MessageAuthentication.hmac(.sha1, key: Array(secret.utf8), message: body)
    }

    /// The header value Intercom sends (empty, which never verifies, if libcrypto failed).
    public static func sign(secret: String, body: [UInt8]) -> String {
        mac(secret: secret, body: body).map { prefix + Hex.encode($0) } ?? ""
    }

    /// Whether `header` is `sha1=` and the hex of this body's MAC under `secret`: the hex is
    /// decoded and the 20 bytes compared in constant time. A missing prefix, odd length or a
    /// non-hex digit is invalid (surrounding spaces are ignored; the hex may be either case).
    public static func isValid(header: String?, secret: String, body: [UInt8]) -> Bool {
        guard let header else { return false }
        let text = header.trimmingSpaces
        guard text.hasPrefix(prefix), let given = Hex.decode(text.dropFirst(prefix.count)), given.count == 20,
              let expected = mac(secret: secret, body: body) else { return false }
        return MessageAuthentication.constantTimeEqual(given, expected)
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        var s = self[...]
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
