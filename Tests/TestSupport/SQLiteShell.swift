import CSQLite
import Foundation

/// Runs SQL against a database file on its own connection, as an operator's `sqlite3`
/// shell would: for tests that set up states the product cannot reach by itself.
public enum SQLiteShell {
    public struct Failure: Error, CustomStringConvertible { public var description: String }

    public static func exec(_ path: String, _ sql: String) throws {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw Failure(description: "cannot open \(path)") }
        defer { sqlite3_close(db) }
        sqlite3_busy_timeout(db, 10_000)
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw Failure(description: String(cString: sqlite3_errmsg(db)))
        }
    }

    /// This host's name as the product writes it into run lease owners.
    public static var hostName: String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, 255)
        return String(cString: buf)
    }
}
