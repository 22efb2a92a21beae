import CSQLite
import Foundation

/// Another writer holding a database's write lock (`BEGIN IMMEDIATE`) until released, as a
/// CLI `reconcile` or a second process would: for tests of what the product does meanwhile.
public final class SQLiteLockHolder: @unchecked Sendable {
    private var db: OpaquePointer?

    /// Opens `path` and takes the write lock (waiting up to 10 s for a current writer).
    public init(_ path: String) throws {
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw SQLiteShell.Failure(description: "cannot open \(path)") }
        sqlite3_busy_timeout(db, 10_000)
        guard sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else {
            let message = String(cString: sqlite3_errmsg(db))
            sqlite3_close(db)
            self.db = nil
            throw SQLiteShell.Failure(description: message)
        }
    }

    /// Rolls back and closes; the lock is free afterwards.
    public func release() {
        guard let db else { return }
        sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
        sqlite3_close(db)
        self.db = nil
    }

    deinit { release() }
}
