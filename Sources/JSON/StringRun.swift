/// Finding where a JSON string's plain run ends, shared by the reader (which must stop
/// there) and the writer (which copies a run that needs no escape in one piece).
enum StringRun {
    /// The index of the first byte at or after `start` that is a quote, a backslash or a
    /// control character, or `bytes.count`. Eight bytes at a time: most of a page is
    /// string text, and a byte loop spent ~8 instructions a byte.
    @inline(__always)
    static func plainEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        let n = bytes.count
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while i + 8 <= n {
                let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let q = w ^ (ones &* 0x22), b = w ^ (ones &* 0x5C)
                // A byte is flagged when it is zero (in q, b) or below 0x20 (in w); the
                // lowest flag is exact, which is the only one used.
                let m = ((q &- ones) & ~q | (b &- ones) & ~b | (w &- ones &* 0x20) & ~w) & highs
                if m != 0 { return i + m.trailingZeroBitCount / 8 }
                i += 8
            }
        }
        while i < n {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { return i }
            i += 1
        }
        return n
    }
}
