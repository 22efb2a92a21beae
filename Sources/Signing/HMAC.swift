import CCrypto

/// Keyed digests through libcrypto's HMAC (`KeyedMAC`). Desks sign webhooks with
/// different hashes (Zendesk SHA-256, Intercom SHA-1); both come through here so the
/// output buffer and the failure check exist once.
public enum MessageAuthentication {
    public enum Algorithm: Sendable {
        case sha256
        case sha1

        /// The digest's name as libcrypto's providers know it.
        var digestName: String {
            switch self {
            case .sha256: "SHA256"
            case .sha1: "SHA1"
            }
        }
    }

    /// HMAC of `message` under `key`, or nil when libcrypto reports a failure (so a
    /// caller can refuse rather than compare against garbage).
    public static func hmac(_ algorithm: Algorithm, key: [UInt8], message: [UInt8]) -> [UInt8]? {
        key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                withDigest(algorithm, key: k, message: m) { $0.map(Array.init) }
            }
        }
    }

    /// HMAC of `message` under `key` into a stack buffer, handed to `body` (nil when
    /// libcrypto failed): what the receiver's hot path uses, so a check allocates nothing.
    public static func withDigest<R>(_ algorithm: Algorithm, key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer,
                                     _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        withDigest(algorithm, key: key, message: UnsafeRawBufferPointer(start: nil, count: 0), message, body)
    }

    /// The same over a message in two parts (Zendesk signs a timestamp, then the body), so
    /// neither is copied to join them.
    public static func withDigest<R>(_ algorithm: Algorithm, key: UnsafeRawBufferPointer, message head: UnsafeRawBufferPointer,
                                     _ tail: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        guard let keyed = KeyedMAC.prepared(algorithm, key: key) else { return body(nil) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(EVP_MAX_MD_SIZE)) { out -> R in
            guard let length = keyed.digest(head, tail, into: out) else { return body(nil) }
            return body(UnsafeBufferPointer(rebasing: out[0..<length]))
        }
    }

    /// Whether two byte strings are equal, in time that depends only on their length.
    public static func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let x = Array(a), y = Array(b)
        return x.withUnsafeBytes { p in y.withUnsafeBytes { q in constantTimeEqual(p, q) } }
    }

    /// The same comparison over bytes in place.
    public static func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }
}
