import CCrypto

/// Keyed digests through libcrypto's one-shot `HMAC()`. Desks sign webhooks with
/// different hashes (Zendesk SHA-256, Intercom SHA-1); both come through here so the
/// output buffer and the failure check exist once.
public enum MessageAuthentication {
    public enum Algorithm: Sendable {
        case sha256
        case sha1

        var md: OpaquePointer? {
            switch self {
            case .sha256: EVP_sha256()
            case .sha1: EVP_sha1()
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
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(EVP_MAX_MD_SIZE)) { out -> R in
            var length: UInt32 = 0
            let result = HMAC(algorithm.md, key.baseAddress, Int32(key.count), message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                              message.count, out.baseAddress, &length)
            guard result != nil, length > 0, Int(length) <= out.count else { return body(nil) }
            return body(UnsafeBufferPointer(rebasing: out[0..<Int(length)]))
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
