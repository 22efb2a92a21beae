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

    /// Fails on any option or flag no command asked for.
    func rejectUnknown() throws {
        let unknown = (Set(options.keys).union(flags)).subtracting(consumed).sorted()
        if let first = unknown.first { throw UsageError("unknown option \(first)") }
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
