import CCrypto
import Synchronization

/// An HMAC context keyed once and copied for each message.
///
/// OpenSSL 3's one-shot `HMAC()` fetches the MAC and the digest by name, allocates three
/// contexts and digests the key's pads on every call: in the receiver's profile that was
/// three quarters of a webhook check, with SHA-256 itself the rest. A keyed context holds
/// the padded key's digest state, so a copy of it (`EVP_MAC_CTX_dup`, which only reads the
/// original and is safe from any thread) needs only the message digested.
final class KeyedMAC: @unchecked Sendable {
    /// Initialised once, then only read (copied); freed with the last reference.
    private let context: OpaquePointer
    private let algorithm: MessageAuthentication.Algorithm
    private let key: [UInt8]

    private init?(_ algorithm: MessageAuthentication.Algorithm, key: UnsafeRawBufferPointer) {
        guard let mac = Self.hmac, let context = EVP_MAC_CTX_new(mac) else { return nil }
        // A zero-length key must still be a non-null pointer for EVP_MAC_init to key it.
        let bytes = key.isEmpty ? UnsafePointer(Self.noKey.baseAddress!) : key.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let ready = "digest".withCString { name in
            algorithm.digestName.withCString { digest in
                var params = [OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: digest), 0),
                              OSSL_PARAM_construct_end()]
                return EVP_MAC_init(context, bytes, key.count, &params) == 1
            }
        }
        guard ready else {
            EVP_MAC_CTX_free(context)
            return nil
        }
        self.context = context
        self.algorithm = algorithm
        self.key = Array(key)
    }

    /// The address given for an empty key (never read: its length is zero).
    nonisolated(unsafe) private static let noKey = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1)

    deinit { EVP_MAC_CTX_free(context) }

    /// The MAC of `head` then `tail` into `out`; its length, or nil when libcrypto failed.
    func digest(_ head: UnsafeRawBufferPointer, _ tail: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<UInt8>) -> Int? {
        guard let copy = EVP_MAC_CTX_dup(context) else { return nil }
        defer { EVP_MAC_CTX_free(copy) }
        guard Self.update(copy, head), Self.update(copy, tail) else { return nil }
        var length = 0
        guard EVP_MAC_final(copy, out.baseAddress, &length, out.count) == 1, length > 0, length <= out.count else { return nil }
        return length
    }

    private static func update(_ context: OpaquePointer, _ part: UnsafeRawBufferPointer) -> Bool {
        part.isEmpty || EVP_MAC_update(context, part.baseAddress!.assumingMemoryBound(to: UInt8.self), part.count) == 1
    }

    private func isKeyed(_ algorithm: MessageAuthentication.Algorithm, _ key: UnsafeRawBufferPointer) -> Bool {
        self.algorithm == algorithm && self.key.withUnsafeBytes { MessageAuthentication.constantTimeEqual($0, key) }
    }

    /// libcrypto's HMAC implementation, fetched once for the process (an EVP_MAC is
    /// immutable once fetched and may be used from any thread).
    nonisolated(unsafe) private static let hmac: OpaquePointer? = EVP_MAC_fetch(nil, "HMAC", nil)

    /// Keyed contexts by a hash of the key (a lookup allocates nothing). A process holds a
    /// few secrets per tenant, so this stays small; it is emptied if it ever holds
    /// `capacity` keys (rotations over a long life) rather than kept in use order.
    private static let cache = Mutex<[Int: [KeyedMAC]]>([:])
    private static let capacity = 4096

    /// The keyed context for `key`, made on first use.
    static func prepared(_ algorithm: MessageAuthentication.Algorithm, key: UnsafeRawBufferPointer) -> KeyedMAC? {
        var hasher = Hasher()
        hasher.combine(algorithm)
        hasher.combine(bytes: key)
        let slot = hasher.finalize()
        if let found = cache.withLock({ $0[slot]?.first { $0.isKeyed(algorithm, key) } }) { return found }
        guard let made = KeyedMAC(algorithm, key: key) else { return nil }
        return cache.withLock { keys in
            if let raced = keys[slot]?.first(where: { $0.isKeyed(algorithm, key) }) { return raced }
            if keys.count >= capacity { keys.removeAll() }
            keys[slot, default: []].append(made)
            return made
        }
    }
}
