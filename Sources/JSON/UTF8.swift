extension JSONReader {
    /// Whether `bytes` is well-formed UTF-8, as JSON text must be (RFC 8259 §8.1). The
    /// reader itself decodes leniently (an invalid sequence becomes U+FFFD), so a caller
    /// that must refuse such input, not store it, asks this first. ASCII, the common case,
    /// is confirmed eight bytes at a time; the rest goes through the standard library's
    /// UTF-8 decoder, which makes nothing of what it reads.
    public static func isUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buf in
            var i = 0
            if let base = buf.baseAddress {
                let raw = UnsafeRawPointer(base)
                while i + 8 <= buf.count, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
            }
            while i < buf.count, buf[i] < 0x80 { i += 1 }
            // Every byte before `i` is ASCII, so `i` starts a sequence.
            var rest = buf[i...].makeIterator()
            var decoder = UTF8()
            while true {
                switch decoder.decode(&rest) {
                case .scalarValue: continue
                case .emptyInput: return true
                case .error: return false
                }
            }
        }
    }
}
