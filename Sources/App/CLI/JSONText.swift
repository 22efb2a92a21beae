import JSON

/// JSON for `--json` output, with keys in a fixed order so scripts and diffs stay stable.
indirect enum JSONText {
    case object([(String, JSONText)])
    case array([JSONText])
    case string(String?)
    case int(Int64?)
    case bool(Bool)
    case null

    static func int(_ v: Int) -> JSONText { .int(Int64(v)) }

    func render(indent: Int? = nil) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0)
        return out
    }

    private func write(into out: inout String, indent: Int?, level: Int) {
        let nl = indent == nil ? "" : "\n"
        let pad = { (l: Int) in indent.map { String(repeating: " ", count: $0 * l) } ?? "" }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += i.map(String.init) ?? "null"
        case .string(let s): out += s.map(JSONWriter.quote) ?? "null"
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[" + nl
            for (i, item) in items.enumerated() {
                out += pad(level + 1)
                item.write(into: &out, indent: indent, level: level + 1)
                out += (i < items.count - 1 ? "," : "") + nl
            }
            out += pad(level) + "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{" + nl
            for (i, (k, v)) in pairs.enumerated() {
                out += pad(level + 1) + JSONWriter.quote(k) + (indent == nil ? ":" : ": ")
                v.write(into: &out, indent: indent, level: level + 1)
                out += (i < pairs.count - 1 ? "," : "") + nl
            }
            out += pad(level) + "}"
        }
    }

}

/// A plain, aligned table for people.
struct Table {
    var header: [String]
    var rows: [[String]] = []

    func render() -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            var s = ""
            for (i, c) in cells.enumerated() {
                s += i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count + 2)
            }
            return s
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
