/// Writing JSON text: string quoting shared by every module that emits JSON by hand
/// (audit rows, CLI output, simulator pages, metrics labels).
public enum JSONWriter {
    /// `s` as a JSON string literal, with the escapes RFC 8259 requires.
    public static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `s` quoted (or `null`) to UTF-8 bytes: for text built from many fields
    /// (audit rows), where concatenating Strings cost more than the rest of the row.
    public static func appendQuoted(_ s: String?, to out: inout [UInt8]) {
        guard var s else { out.append(contentsOf: Self.null); return }
        out.append(UInt8(ascii: "\""))
        // Most text needs no escaping: check the bytes once and copy them in one piece, from
        // the buffer just checked (appending the UTF-8 view walked the string a second time).
        let plain = s.withUTF8 { bytes in
            guard StringRun.plainEnd(bytes, from: 0) == bytes.count else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if plain {
            out.append(UInt8(ascii: "\""))
            return
        }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\\"): out.append(b); out.append(b)
            case UInt8(ascii: "\n"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xf)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A quoted string, or `null`.
    public static func quote(_ s: String?) -> String { s.map { quote($0) } ?? "null" }

    private static let null: [UInt8] = Array("null".utf8)

    /// Appends the decimal digits of `v` (a JSON number) without making a String of them.
    public static func appendInteger(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var n = 0
        withUnsafeMutableBytes(of: &digits) { buf in
            repeat {
                buf[23 - n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                n += 1
            } while m > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[(24 - n)...]))
        }
    }
}
