/// A command line split into the command words, options and flags, so each command
/// reads what it needs and unknown options are usage errors (exit 2).
struct Arguments {
    var words: [String] = []
    private var options: [String: [String]] = [:]
    private var flags: Set<String> = []
    private var consumed: Set<String> = []

    /// Options that take a value; everything else starting with `--` is a flag.
    static let valued: Set<String> = ["--config", "--data-dir", "--tenant", "--source", "--status", "--name", "--email",
                                      "--username", "--external-id", "--source-id", "--user", "--reason", "--url",
                                      "--code", "--limit", "--redirect-url", "--to", "--tenants", "--listen", "--admin-listen"]

    init(_ argv: [String]) throws {
        var i = 0
        while i < argv.count {
            let a = argv[i]
            if a == "-h" { flags.insert("--help"); i += 1; continue }
            if a.hasPrefix("--") {
                var name = a
                var value: String?
                if let eq = a.firstIndex(of: "=") {
                    name = String(a[..<eq])
                    value = String(a[a.index(after: eq)...])
                }
                if Self.valued.contains(name) {
                    if value == nil {
                        guard i + 1 < argv.count else { throw UsageError("\(name) needs a value") }
                        value = argv[i + 1]
                        i += 1
                    }
                    options[name, default: []].append(value!)
                } else {
                    guard value == nil else { throw UsageError("\(name) takes no value") }
                    flags.insert(name)
                }
            } else {
                words.append(a)
            }
            i += 1
        }
    }

    mutating func value(_ name: String) -> String? {
        consumed.insert(name)
        return options[name]?.last
    }

    mutating func flag(_ name: String) -> Bool {
        consumed.insert(name)
        return flags.contains(name)
    }

    /// A positive whole number given to `name` (a `--limit`), or `fallback` when absent.
    mutating func count(_ name: String, default fallback: Int) throws -> Int {
        guard let raw = value(name) else { return fallback }
        guard let n = Int(raw), n > 0 else { throw UsageError("\(name): '\(raw)' is not a positive whole number") }
        return n
    }

    /// Fails on any option or flag no command asked for, and, given how many words the
    /// command is (`users list`: 2), on words after them.
    func rejectUnknown(words taken: Int? = nil) throws {
        let unknown = (Set(options.keys).union(flags)).subtracting(consumed).sorted()
        if let first = unknown.first { throw UsageError("unknown option \(first)") }
        if let taken, words.count > taken { throw UsageError("unexpected argument '\(words[taken])'") }
    }
}

/// A mistake in how the command was called: shown with a hint, exit code 2.
struct UsageError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// A command that ran but could not do its job: exit code 1.
struct OperationalError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
