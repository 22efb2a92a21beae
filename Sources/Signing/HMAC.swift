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
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(EVP_MAX_MD_SIZE)) { out -> [UInt8]? in
            var length: UInt32 = 0
            let result = key.withUnsafeBytes { k in
                message.withUnsafeBytes { m in
                    HMAC(algorithm.md, k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self),
                         m.count, out.baseAddress, &length)
                }
            }
            guard result != nil, length > 0, Int(length) <= out.count else { return nil }
            return Array(out[0..<Int(length)])
        }
    }

    /// Whether two byte strings are equal, in time that depends only on their length.
    public static func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let x = Array(a), y = Array(b)
        guard x.count == y.count else { return false }
        if x.isEmpty { return true }
        return x.withUnsafeBytes { p in y.withUnsafeBytes { q in CRYPTO_memcmp(p.baseAddress, q.baseAddress, p.count) == 0 } }
    }
}
