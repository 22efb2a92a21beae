import CCrypto

/// A short-lived link that grants one thing without a bearer token, such as starting a
/// tenant's OAuth connection from a browser: `purpose`, `subject` and expiry signed with
/// HMAC-SHA256 (the same HMAC as webhook signatures) under a key only the product holds.
public struct SignedLink: Sendable {
    private let key: [UInt8]

    /// The signing key is derived from `secret` (for OAuth links, the configured client
    /// secret), so the CLI that prints a link and the `serve` that honours it agree without
    /// storing anything, and a rotated secret voids every link made with the old one.
    public init(secret: String) {
        key = WebhookSignature.hmacSHA256(key: Array(secret.utf8), message: Array("usersync signed link v1".utf8))
    }

    /// The signature (lowercase hex) of `purpose` for `subject`, valid until `expires`
    /// (unix seconds).
    public func signature(purpose: String, subject: String, expires: Int64) -> String {
        let mac = WebhookSignature.hmacSHA256(key: key, message: Array("\(purpose)\n\(subject)\n\(expires)".utf8))
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(mac.count * 2)
        for b in mac { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }

    /// True when `signature` was made by this key for `purpose` and `subject` and `expires`
    /// has not passed at `now`; compared in constant time.
    public func isValid(signature: String, purpose: String, subject: String, expires: Int64, now: Int64) -> Bool {
        guard expires >= now else { return false }
        return Self.same(signature, self.signature(purpose: purpose, subject: subject, expires: expires))
    }

    /// Constant-time equality of two secrets' bytes (the time depends only on the lengths).
    public static func same(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        guard a.count == b.count else { return false }
        guard !b.isEmpty else { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, b.count) == 0 } }
    }
}
