/// A short-lived link that grants one thing without a bearer token, such as starting a
/// tenant's OAuth connection from a browser: `purpose`, `subject` and expiry signed with
/// HMAC-SHA256 under a key only the product holds.
public struct SignedLink: Sendable {
    /// Nil when libcrypto failed to derive the key: every link is then refused.
    private let key: [UInt8]?

    /// The signing key is derived from `secret` (for OAuth links, the configured client
    /// secret), so the CLI that prints a link and the `serve` that honours it agree without
    /// storing anything, and a rotated secret voids every link made with the old one.
    public init(secret: String) {
        key = MessageAuthentication.hmac(.sha256, key: Array(secret.utf8), message: Array("usersync signed link v1".utf8))
    }

    /// The signature (lowercase hex) of `purpose` for `subject`, valid until `expires`
    /// (unix seconds); empty when libcrypto fails.
    public func signature(purpose: String, subject: String, expires: Int64) -> String {
        guard let key, let mac = MessageAuthentication.hmac(.sha256, key: key, message: Array("\(purpose)\n\(subject)\n\(expires)".utf8))
        else { return "" }
        return Hex.encode(mac)
    }

    /// True when `signature` was made by this key for `purpose` and `subject` and `expires`
    /// has not passed at `now`; compared in constant time.
    public func isValid(signature: String, purpose: String, subject: String, expires: Int64, now: Int64) -> Bool {
        guard expires >= now else { return false }
        let expected = self.signature(purpose: purpose, subject: subject, expires: expires)
        return !expected.isEmpty && Self.same(signature, expected)
    }

    /// Constant-time equality of two secrets' bytes (the time depends only on the lengths).
    public static func same(_ given: String, _ expected: String) -> Bool {
        MessageAuthentication.constantTimeEqual(Array(given.utf8), Array(expected.utf8))
    }
}
