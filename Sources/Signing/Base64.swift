/// The project's one base64 (RFC 4648): standard with padding for Zendesk's signatures and
/// Basic auth, URL-safe without padding for PKCE; decoding for the simulators' Basic auth.
public enum Base64 {
    private static let standard = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlSafe = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Standard alphabet with `=` padding (§4), as bytes of text.
    public static func encodeBytes(_ bytes: [UInt8]) -> [UInt8] { encode(bytes, table: standard, pad: true) }

    /// Standard alphabet with `=` padding (§4).
    public static func encode(_ bytes: [UInt8]) -> String { String(decoding: encodeBytes(bytes), as: UTF8.self) }

    /// URL-safe alphabet without padding (§5), as PKCE wants (RFC 7636 appendix A).
    public static func encodeURL(_ bytes: [UInt8]) -> String {
        String(decoding: encode(bytes, table: urlSafe, pad: false), as: UTF8.self)
    }

    private static func encode(_ bytes: [UInt8], table: [UInt8], pad: Bool) -> [UInt8] {
        bytes.withUnsafeBufferPointer { input in
            [UInt8](unsafeUninitializedCapacity: encodedCount(input.count)) { out, count in
                count = table.withUnsafeBufferPointer { encode(input, into: out, table: $0, pad: pad) }
            }
        }
    }

    /// Standard alphabet with padding into `out` (room for `encodedCount`); the length written.
    /// For checks that must not allocate (a webhook signature per request).
    public static func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        standard.withUnsafeBufferPointer { encode(bytes, into: out, table: $0, pad: true) }
    }

    /// The padded length of `count` bytes encoded (an upper bound when unpadded).
    public static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    private static func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>,
                               table: UnsafeBufferPointer<UInt8>, pad: Bool) -> Int {
        precondition(out.count >= encodedCount(bytes.count))
        var i = 0, o = 0
        func put(_ n: UInt32, _ shift: UInt32) {
            out[o] = table[Int(n >> shift & 63)]
            o += 1
        }
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            put(n, 18); put(n, 12); put(n, 6); put(n, 0)
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            put(n, 18); put(n, 12)
            if pad { out[o] = 61; out[o + 1] = 61; o += 2 }
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            put(n, 18); put(n, 12); put(n, 6)
            if pad { out[o] = 61; o += 1 }
        }
        return o
    }

    /// Decodes standard or URL-safe text, padded or not; nil for anything else.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var utf8 = Array(text.utf8)
        while utf8.last == 61 { utf8.removeLast() }
        guard utf8.count % 4 != 1 else { return nil }
        func value(_ c: UInt8) -> UInt32? {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(c - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): 63
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for c in utf8 {
            guard let v = value(c) else { return nil }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }
}
