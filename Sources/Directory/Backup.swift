import CSQLite
import Glibc

extension TenantDirectory {
    /// Writes a consistent copy of the database to `DATA_DIR/tenants/TENANT.sqlite` under
    /// `dataDir`, through SQLite's online backup API: one step over a read snapshot, so
    /// writers (the receiver, a run) carry on and the copy is the database as of one commit.
    public func backup(toDataDir dataDir: String) throws {
        let folder = dataDir + "/tenants"
        let target = folder + "/" + tenant + ".sqlite"
        do {
            try DataDirectory.makeFolder(dataDir)
            try DataDirectory.makeFolder(folder)
            for suffix in ["", "-wal", "-shm"] { unlink(target + suffix) }
            try DataDirectory.makePrivateFile(target)
            let destination = try Connection(path: target)
            try read { source in
                guard let job = sqlite3_backup_init(destination.handle, "main", source.handle, "main") else {
                    throw destination.error(sqlite3_errcode(destination.handle))
                }
                var rc: Int32
                repeat {
                    rc = sqlite3_backup_step(job, -1)
                    if rc == SQLITE_BUSY || rc == SQLITE_LOCKED { sqlite3_sleep(20) }
                } while rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED
                let finish = sqlite3_backup_finish(job)
                guard rc == SQLITE_DONE, finish == SQLITE_OK else { throw destination.error(rc == SQLITE_DONE ? finish : rc) }
            }
            try destination.execute("PRAGMA journal_mode = WAL")
        } catch let e as SQLiteError {
            throw DirectoryError(tenant: tenant, .sqlite(code: e.code, message: "backup to \(target): \(e.message)"))
        }
    }
}
