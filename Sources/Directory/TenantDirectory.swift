import Glibc
import JSON
import Synchronization
import SyncRules

/// One tenant's directory: a SQLite database at `DATA_DIR/tenants/TENANT.sqlite`.
///
/// One database per tenant isolates tenants and keeps one tenant's writers from
/// blocking another's. Every write is a `BEGIN IMMEDIATE` transaction on a WAL database
/// with `synchronous=FULL`, so a commit is on disk when it returns. Writes go through one
/// connection and reads through another (WAL readers never wait for the writer); each is
/// serialised by its own mutex, so callers on any thread may share one instance.
public final class TenantDirectory: @unchecked Sendable {
    public let tenant: String
    public let path: String
    // Guarded by `lock`: SQLite connections are opened NOMUTEX and used by one thread at a time.
    private let connection: Connection
    private let lock = PthreadLock()
    // Guarded by `readLock`.
    private let reader: Connection
    private let readLock = PthreadLock()

    /// Opens (creating if needed) the tenant's database and brings its schema up to date.
    public init(dataDir: String, tenant: String) throws {
        self.tenant = tenant
        let tenantsDir = dataDir + "/tenants"
        self.path = tenantsDir + "/" + tenant + ".sqlite"
        do {
            try DataDirectory.makeFolder(dataDir)
            try DataDirectory.makeFolder(tenantsDir)
            try DataDirectory.makePrivateFile(path)
            let db = try Connection(path: path)
            try db.execute("PRAGMA busy_timeout = \(Self.busyTimeoutMillis)")
            try Self.switchToWAL(db)
            try Self.require(db, "synchronous", set: "FULL", readsBack: "2")
            try Self.require(db, "foreign_keys", set: "ON", readsBack: "1")
            try Schema.migrate(db)
            try db.execute("PRAGMA cache_size = -\(Self.writerCacheKiB)")
            // A multi-row statement keeps a statement journal, which SQLite moves to a temp
            // file past 64 KiB: an applier's round settling a few hundred inbox rows
            // created, wrote and unlinked one each time (~50 a second under a webhook
            // burst). The writer's statements are bounded by its batches, so memory is too.
            try db.execute("PRAGMA temp_store = MEMORY")
            connection = db
            let r = try Connection(path: path)
            try r.execute("PRAGMA busy_timeout = \(Self.busyTimeoutMillis)")
            try Self.require(r, "foreign_keys", set: "ON", readsBack: "1")
            // Reads are point lookups and page scans: a small cache keeps the process's
            // memory to one page cache (the writer's), not two.
            try r.execute("PRAGMA cache_size = -\(Self.readerCacheKiB)")
            reader = r
        } catch let e as SQLiteError {
            throw DirectoryError(tenant: tenant, e.isUnavailable ? .storeUnavailable("\(path): \(e.message)")
                                                          : .sqlite(code: e.code, message: "\(path): \(e.message)"))
        } catch let e as UnsafeSetting {
            throw DirectoryError(tenant: tenant, .unsafeStore("\(path): \(e.text)"))
        }
    }

    private struct UnsafeSetting: Error { var text: String }

    static let readerCacheKiB = 256
    /// The writer's page cache, a quarter of SQLite's default: a 100,000-user first
    /// import's peak RSS fell by 1.4 MB and its CPU time did not move (its index inserts
    /// land on pages all over the file, which 2 MB did not hold either; the OS page cache
    /// serves the misses).
    static let writerCacheKiB = 512

    /// Sets a PRAGMA durability depends on and reads it back: a setting SQLite silently
    /// ignored (a read-only folder cannot hold a WAL, for one) must not pass unnoticed.
    /// Both statements are prepared once per connection: a non-durable write restores
    /// `synchronous=FULL` through here every time.
    /// Puts a new database in WAL mode. The switch needs the file to itself and, unlike
    /// other statements, answers busy at once instead of calling the busy handler: two
    /// processes opening a new tenant together got "database is locked". It is retried
    /// for as long as the busy timeout; once one switched, the mode is the file's.
    static func switchToWAL(_ db: Connection) throws {
        let deadline = Clock.monotonicSeconds() + Double(busyTimeoutMillis) / 1000
        while true {
            do { return try require(db, "journal_mode", set: "WAL", readsBack: "wal") } catch let e as SQLiteError where e.isBusy {
                guard Clock.monotonicSeconds() < deadline else { throw e }
                usleep(2_000)
            }
        }
    }

    static func require(_ db: Connection, _ pragma: String, set value: String, readsBack expected: String) throws {
        try db.run("PRAGMA \(pragma) = \(value)")
        let got = try db.first("PRAGMA \(pragma)") { $0.text(0) } ?? ""
        guard got.lowercased() == expected else {
            throw UnsafeSetting(text: "PRAGMA \(pragma) reads back '\(got)', not '\(expected)'")
        }
    }

    /// The schema version of the open database.
    public func schemaVersion() throws -> Int {
        try read { db in try db.first("SELECT max(version) FROM schema_migrations") { Int($0.int(0)) } ?? 0 }
    }

    public static var latestSchemaVersion: Int { Schema.latestVersion }

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`), committing on return.
    ///
    /// `durable: false` commits without fsync (`synchronous=NORMAL` for this transaction
    /// only), for writes whose loss in a crash only means redoing them: applying inbox events
    /// leaves them pending until the same transaction marks them applied. One connection
    /// serves both, so its page cache stays warm.
    ///
    /// `within` bounds the wait for the write lock, in this process and in SQLite, to that
    /// many seconds (instead of the 10 s busy timeout): the inbox writer answers 503 rather
    /// than keep a desk's delivery waiting while another process holds the lock.
    func write<T>(durable: Bool = true, within: Double? = nil, _ body: (Connection) throws -> T) throws -> T {
        let started = Clock.monotonicSeconds()
        let acquired: T? = try lock.withLock(within: within) { _ -> T in
            let db = connection
            do {
                if !durable { try db.run("PRAGMA synchronous = NORMAL") }
                if let within {
                    let left = max(0, within - (Clock.monotonicSeconds() - started))
                    db.setBusyTimeout(milliseconds: Int32(left * 1000))
                }
                defer { if within != nil { db.setBusyTimeout(milliseconds: Int32(Self.busyTimeoutMillis)) } }
                try db.run(Queries.beginImmediate)
            } catch let e as SQLiteError {
                if !durable { try? restoreFullSync(db) }
                throw DirectoryError(tenant: tenant, .storeUnavailable(e.message))
            }
            do {
                let value = try body(db)
                try db.run(Queries.commit)
                if !durable { try restoreFullSync(db) }
                return value
            } catch {
                _ = try? db.run(Queries.rollback)
                if !durable { try? restoreFullSync(db) }
                throw wrap(error)
            }
        }
        guard let done = acquired else {
            throw DirectoryError(tenant: tenant, .storeUnavailable("the write lock is held by another writer in this process"))
        }
        return done
    }

    /// SQLite's wait for a lock held by another connection, for every write but the inbox's.
    static let busyTimeoutMillis = 10_000

    /// Back to `synchronous=FULL` after a non-durable write; checked, because every later
    /// acknowledged event depends on it.
    private func restoreFullSync(_ db: Connection) throws {
        try Self.require(db, "synchronous", set: "FULL", readsBack: "2")
    }

    /// Runs `body` on the read connection, outside an explicit transaction (each statement
    /// reads a consistent snapshot). It never waits for the writer.
    func read<T>(_ body: (Connection) throws -> T) throws -> T {
        try readLock.withLock { _ in
            do { return try body(reader) } catch { throw wrap(error) }
        }
    }

    /// Runs `body` on the writer's connection outside a transaction, behind the write lock:
    /// for the inbox applier, whose reads follow the writes that connection has just made.
    /// Its page cache holds them, while the read connection's cache is emptied by every
    /// commit of another connection (and re-read with `pread`). A write holds the lock for
    /// a commit, about a millisecond; when one holds it longer (waiting behind another
    /// process), the read goes to the read connection instead, which never waits.
    func readBehindWrites<T>(_ body: (Connection) throws -> T) throws -> T {
        // Generic, so a `T` that is itself optional stays apart from "the lock was busy".
        if let value = try lock.withLock(within: Self.behindWritesWait, { _ in
            do { return try body(connection) } catch { throw wrap(error) }
        }) {
            return value
        }
        return try read(body)
    }

    /// Seconds a read waits for the write lock before it goes to the read connection.
    static let behindWritesWait = 0.05

    /// Runs `body` in one read transaction, so several statements see the same snapshot.
    func snapshot<T>(_ body: (Connection) throws -> T) throws -> T {
        try read { db in
            try db.run(Queries.beginRead)
            defer { _ = try? db.run(Queries.commit) }
            return try body(db)
        }
    }

    func wrap(_ error: any Error) -> any Error {
        if let e = error as? SQLiteError {
            return DirectoryError(tenant: tenant, e.isUnavailable ? .storeUnavailable(e.message)
                                                          : .sqlite(code: e.code, message: e.message))
        }
        if let e = error as? UnsafeSetting { return DirectoryError(tenant: tenant, .unsafeStore(e.text)) }
        return error
    }

    /// Checks the database file (`PRAGMA integrity_check`); "ok" when sound.
    public func integrityCheck() throws -> String {
        try read { db in try db.query("PRAGMA integrity_check") { $0.text(0) }.joined(separator: "; ") }
    }
}

/// A pthread mutex (Synchronization.Mutex spins before sleeping, which burns a core while
/// another thread waits for fsync).
final class PthreadLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: (()) throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body(())
    }

    /// Like `withLock`, but gives up after `seconds` (nil: waits as long as it takes) and
    /// returns nil then.
    func withLock<T>(within seconds: Double?, _ body: (()) throws -> T) rethrows -> T? {
        guard let seconds else { return try withLock(body) }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanos = Int(deadline.tv_nsec) + Int((seconds - seconds.rounded(.down)) * 1e9)
        deadline.tv_sec += Int(seconds) + nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        guard pthread_mutex_timedlock(&mutex, &deadline) == 0 else { return nil }
        defer { pthread_mutex_unlock(&mutex) }
        return try body(())
    }
}

/// Creation of the data directory's folders (0700) and files (0600).
enum DataDirectory {
    static func makeFolder(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw SQLiteError(code: 0, message: "cannot create folder \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func makePrivateFile(_ path: String) throws {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SQLiteError(code: 0, message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        fchmod(fd, 0o600)
        close(fd)
    }
}

// MARK: - Row mapping shared by the extensions

extension TenantDirectory {
    static let userColumns = Queries.userColumns

    static func localUser(_ r: Row) -> LocalUser { localUser(r, offset: 0) }

    static func localUser(_ r: Row, offset o: Int32) -> LocalUser {
        LocalUser(id: r.int(o), name: r.text(o + 1), email: r.optionalText(o + 2), username: r.optionalText(o + 3),
                  externalID: r.optionalText(o + 4), status: LocalUser.Status(rawValue: r.text(o + 5)) ?? .pending,
                  deactivatedBy: r.optionalText(o + 6).flatMap(LocalUser.Deactivator.init(rawValue:)),
                  reason: r.optionalText(o + 7), origin: LocalUser.Origin(rawValue: r.text(o + 8)) ?? .manual,
                  statusBeforeDeactivation: r.optionalText(o + 9).flatMap(LocalUser.Status.init(rawValue:)))
    }

    func fetchUser(_ db: Connection, id: Int64) throws -> LocalUser? {
        try db.first(Queries.userByID, id, map: Self.localUser)
    }

    func insertUser(_ db: Connection, _ u: NewLocalUser, cause: Cause, now: String = Clock.nowText()) throws -> LocalUser {
        do {
            try db.run(Queries.insertUser, u.name, u.email, u.username, u.externalID, u.status.rawValue, u.origin.rawValue, now, now)
        } catch let e as SQLiteError where e.isUniqueViolation {
            throw DirectoryError(tenant: tenant, collision(db, email: u.email, username: u.username, externalID: u.externalID))
        }
        let user = LocalUser(id: db.lastInsertRowID, name: u.name, email: u.email, username: u.username,
                             externalID: u.externalID, status: u.status, origin: u.origin)
        try audit(db, userID: user.id, action: "created", cause: cause, before: nil, after: user, now: now)
        return user
    }

    func updateUser(_ db: Connection, from before: LocalUser, to after: LocalUser, action: String, cause: Cause,
                    now: String = Clock.nowText()) throws {
        guard before != after else { return }
        do {
            try db.run(Queries.updateUser, after.name, after.email, after.username, after.externalID, after.status.rawValue,
                after.deactivatedBy?.rawValue, after.reason, after.statusBeforeDeactivation?.rawValue,
                now, after.id)
        } catch let e as SQLiteError where e.isUniqueViolation {
            throw DirectoryError(tenant: tenant, collision(db, email: after.email, username: after.username,
                                                           externalID: after.externalID, except: after.id))
        }
        try audit(db, userID: after.id, action: action, cause: cause, before: before, after: after, now: now)
    }

    func audit(_ db: Connection, userID: Int64, action: String, cause: Cause, before: LocalUser?, after: LocalUser?,
               now: String = Clock.nowText()) throws {
        try db.run(Queries.insertAudit, userID, now, action, cause.kind, cause.reference,
                   before.map(AuditJSON.encode), after.map(AuditJSON.encode))
    }

    /// Which unique field another user already holds, and who.
    private func collision(_ db: Connection, email: String?, username: String?, externalID: String?,
                           except: Int64 = -1) -> DirectoryError.Reason {
        let probes: [(String, String?, String)] = [
            ("email", email, "SELECT id FROM users WHERE email = ? COLLATE NOCASE AND id != ?"),
            ("username", username, "SELECT id FROM users WHERE username = ? AND id != ?"),
            ("external_id", externalID, "SELECT id FROM users WHERE external_id = ? AND id != ?"),
        ]
        for (field, value, sql) in probes {
            if let value, let holder = try? db.first(sql, value, except, map: { $0.int(0) }) {
                return .collision(field: field, value: value, holder: holder)
            }
        }
        return .sqlite(code: 2067, message: "a unique field is already used by another local user")
    }
}

/// The JSON form of a local user in audit rows: stable keys, no Foundation on the hot path.
enum AuditJSON {
    static func encode(_ u: LocalUser) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(160 + u.name.utf8.count + (u.email?.utf8.count ?? 0) + (u.reason?.utf8.count ?? 0))
        func raw(_ s: StaticString) { out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
        func text(_ s: String?) { JSONWriter.appendQuoted(s, to: &out) }
        raw("{\"id\":"); JSONWriter.appendInteger(u.id, to: &out)
        raw(",\"name\":"); text(u.name)
        raw(",\"email\":"); text(u.email)
        raw(",\"username\":"); text(u.username)
        raw(",\"external_id\":"); text(u.externalID)
        raw(",\"status\":"); text(u.status.rawValue)
        raw(",\"deactivated_by\":"); text(u.deactivatedBy?.rawValue)
        raw(",\"reason\":"); text(u.reason)
        raw(",\"origin\":"); text(u.origin.rawValue)
        raw("}")
        return String(decoding: out, as: UTF8.self)
    }
}
