import Dispatch
import FoundationEssentials
import JSON

/// Structured logs: one JSON object per line on stderr. Callers pass values that are safe
/// to show; secrets never reach a log call.
final class Log: Sendable {
    enum Level: String { case debug, info, warn, error }
    private let lock = Lock()
    let minimum: Level

    init(minimum: Level = .info) { self.minimum = minimum }

    func write(_ level: Level, _ message: String, _ fields: [String: String] = [:]) {
        if level == .debug && minimum != .debug { return }
        var line = "{\"ts\":\"\(Date().ISO8601Format(.iso8601.year().month().day().time(includingFractionalSeconds: true)))\",\"level\":\"\(level.rawValue)\",\"msg\":\(JSONWriter.quote(message))"
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { line += ",\(JSONWriter.quote(k)):\(JSONWriter.quote(v))" }
        line += "}\n"
        lock.withLock { Console.write(2, line) }
    }

    func info(_ m: String, _ f: [String: String] = [:]) { write(.info, m, f) }
    func warn(_ m: String, _ f: [String: String] = [:]) { write(.warn, m, f) }
    func error(_ m: String, _ f: [String: String] = [:]) { write(.error, m, f) }
}
