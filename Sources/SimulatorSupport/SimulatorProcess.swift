import Dispatch
import Foundation
import HTTPServer

/// What every desk simulator's `main` shares: flag parsing, failing with an exit code, and
/// serving until SIGTERM/SIGINT (then exit 0), so each simulator keeps only its desk's API.
public struct SimulatorProcess {
    public let name: String
    public let usage: String
    private var args: [String]

    /// Reads the command line; `--help` prints `usage` and exits 0.
    public init(name: String, usage: String) {
        self.name = name
        self.usage = usage
        args = Array(CommandLine.arguments.dropFirst())
        if args.contains("--help") || args.contains("-h") {
            print(usage)
            exit(0)
        }
    }

    /// The value of `--flag VALUE`, removed from what is left to read.
    public mutating func take(_ flag: String) -> String? {
        guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
        let v = args[i + 1]
        args.removeSubrange(i...(i + 1))
        return v
    }

    /// Fails (exit 2) when flags nobody asked for are left.
    public func rejectUnknown() {
        if !args.isEmpty { fail("unknown arguments \(args)\n\(usage)", code: 2) }
    }

    public func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
        exit(code)
    }

    /// Starts `server`, prints `NAME listening on http://HOST:PORT (detail)`, and serves
    /// until SIGTERM or SIGINT, which stop the server and exit 0.
    public func serve(_ server: HTTPServer, detail: @autoclosure () -> String, onStart: (Int) -> Void = { _ in }) -> Never {
        do {
            try server.start()
        } catch {
            fail("\(error)", code: 1)
        }
        onStart(server.port)
        let host = server.configuration.host
        FileHandle.standardOutput.write(Data("\(name) listening on http://\(host):\(server.port) (\(detail()))\n".utf8))
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let queue = DispatchQueue(label: "\(name).signals")
        let sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
        for s in sources {
            // @Sendable: the handler runs on the signal queue, not on the main actor.
            s.setEventHandler { @Sendable in
                server.stop()
                exit(0)
            }
            s.resume()
        }
        while true { sleep(3600) }
    }
}

/// Counters a simulator keeps for tests and the demo (`GET /_sim/stats`).
public final class SimulatorStats: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    public init() {}

    public func bump(_ key: String) {
        lock.withLock { counts[key, default: 0] += 1 }
    }

    public var json: String {
        lock.withLock {
            "{" + counts.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        }
    }
}
