import JSON
import SyncRules

/// Reads one JSON object of the config, recording each problem with its path
/// ("tenant abc-energy: zendesk.subdomain: …") instead of stopping at the first. Desks
/// read their own keys of a source section through it.
public final class Fields {
    let object: [String: JSONValue]
    let prefix: String
    let path: String
    let report: Report
    private var used: Set<String> = []

    /// Problems and warnings shared by every reader of one file.
    final class Report {
        var problems: [String] = []
        var warnings: [String] = []
    }

    init(_ object: [String: JSONValue], prefix: String, path: String, report: Report) {
        self.object = object
        self.prefix = prefix
        self.path = path
        self.report = report
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func fail(_ key: String, _ message: String) {
        report.problems.append("\(prefix)\(name(key)): \(message)")
    }

    /// The member `key`, treating JSON null as absent.
    private func member(_ key: String) -> JSONValue? {
        guard let v = object[key], v != .null else { return nil }
        return v
    }

    public func has(_ key: String) -> Bool { member(key) != nil }

    public func string(_ key: String, required: Bool = false) -> String? {
        used.insert(key)
        guard let v = member(key) else {
            if required { fail(key, "is required") }
            return nil
        }
        guard case .string(let s) = v else { fail(key, "must be a string"); return nil }
        return s
    }

    public func bool(_ key: String, default d: Bool) -> Bool {
        used.insert(key)
        guard let v = member(key) else { return d }
        guard case .bool(let b) = v else {
            fail(key, "must be true or false")
            return d
        }
        return b
    }

    public func int(_ key: String, required: Bool = false, min: Int = 0) -> Int? {
        used.insert(key)
        guard let v = member(key) else {
            if required { fail(key, "is required") }
            return nil
        }
        guard case .number(let text) = v, let i = Int(text) else {
            fail(key, "must be a whole number")
            return nil
        }
        guard i >= min else { fail(key, "must be at least \(min)"); return nil }
        return i
    }

    /// A list of strings; with `integers`, whole numbers too, as their digits (ids such as
    /// Zendesk's custom role ids, which the API gives as numbers).
    public func strings(_ key: String, integers: Bool = false) -> [String]? {
        used.insert(key)
        let expected = integers ? "must be a list of strings or whole numbers" : "must be a list of strings"
        guard let v = member(key) else { return nil }
        guard case .array(let items) = v else { fail(key, expected); return nil }
        var out: [String] = []
        for item in items {
            switch item {
            case .string(let s): out.append(s)
            case .number(let n) where integers && n.isASCIIDigits: out.append(n)
            default: fail(key, expected); return nil
            }
        }
        return out
    }

    public func object(_ key: String) -> Fields? {
        used.insert(key)
        guard let v = member(key) else { return nil }
        guard let o = Fields.members(v) else { fail(key, "must be an object"); return nil }
        return Fields(o, prefix: prefix, path: name(key), report: report)
    }

    func objects(_ key: String) -> [[String: JSONValue]]? {
        used.insert(key)
        guard let v = member(key) else { return nil }
        guard case .array(let items) = v else { fail(key, "must be a list"); return nil }
        var out: [[String: JSONValue]] = []
        for (i, e) in items.enumerated() {
            guard let o = Fields.members(e) else { fail("\(key)[\(i)]", "must be an object"); continue }
            out.append(o)
        }
        return out
    }

    static func members(_ v: JSONValue) -> [String: JSONValue]? {
        guard case .object(let pairs) = v else { return nil }
        return Dictionary(pairs, uniquingKeysWith: { _, last in last })
    }

    /// Seconds from `30s`, `15m`, `6h`, `24h` (or `1d`).
    public func duration(_ key: String) -> Int? {
        guard let s = string(key) else { return nil }
        guard let secs = Fields.parseDuration(s) else {
            fail(key, "'\(s)' is not a duration (use e.g. 30s, 15m, 6h, 24h)")
            return nil
        }
        return secs
    }

    static func parseDuration(_ s: String) -> Int? {
        let t = s.trimmedSpaces
        guard let unit = t.last, let n = Int(t.dropLast()), n > 0 else { return nil }
        switch unit {
        case "s": return n
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86_400
        default: return nil
        }
    }

    /// A secret named by `<base>_env` or `<base>_file`; an inline `<base>` is refused.
    public func secret(_ base: String, required: Bool) -> SecretRef? {
        used.insert(base)
        if has(base) {
            fail(base, "inline secrets are not accepted; use \(base)_env or \(base)_file")
        }
        let env = string(base + "_env")
        let file = string(base + "_file")
        switch (env, file) {
        case (let e?, nil):
            guard !e.isEmpty else { fail(base + "_env", "must name an environment variable"); return nil }
            return .env(e)
        case (nil, let f?):
            guard !f.isEmpty else { fail(base + "_file", "must name a file"); return nil }
            return .file(f)
        case (.some, .some):
            fail(base + "_env", "give \(base)_env or \(base)_file, not both")
            return nil
        case (nil, nil):
            if required && !has(base) { fail(base + "_env", "is required (or \(base)_file)") }
            return nil
        }
    }

    /// Records keys nobody asked for (likely typos) as warnings.
    public func finish() {
        for key in object.keys.sorted() where !used.contains(key) {
            report.warnings.append("\(prefix)\(name(key)): unknown key, ignored")
        }
    }
}
