/// Writing JSON text: string quoting shared by every module that emits JSON by hand
/// (audit rows, CLI output, simulator pages, metrics labels).
public enum JSONWriter {
    /// `s` as a JSON string literal, with the escapes RFC 8259 requires.
    public static func quote(_ s: String) -> String {
        // Most text needs no escaping: check the bytes once and copy in one piece.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            return "\"" + s + "\""
        }
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }

    /// A quoted string, or `null`.
    public static func quote(_ s: String?) -> String { s.map { quote($0) } ?? "null" }
}
