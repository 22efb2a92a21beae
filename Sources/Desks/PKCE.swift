import CCrypto
import Signing

/// Proof Key for Code Exchange (RFC 7636) and OAuth `state` values, for every desk's
/// authorization-code flow.
public enum PKCE {
    /// A random PKCE verifier and state (base64url, 43+ characters).
    public static func randomToken(bytes: Int = 32) -> String {
        var b = [UInt8](repeating: 0, count: bytes)
        for i in b.indices { b[i] = UInt8.random(in: 0...255) }
        return Base64.encodeURL(b)
    }

    /// The S256 code challenge for `verifier`: base64url(SHA-256(verifier)) (RFC 7636 §4.2).
    public static func challenge(for verifier: String) throws -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        let bytes = Array(verifier.utf8)
        guard SHA256(bytes, bytes.count, &digest) != nil else { throw SourceError.malformed("libcrypto SHA-256 failed") }
        return Base64.encodeURL(digest)
    }
}
