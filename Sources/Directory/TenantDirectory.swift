import Glibc
import JSON
import Synchronization
import SyncRules

/// One tenant's directory: a SQLite database at `DATA_DIR/tenants/TENANT.sqlite`.
///
/// One database per tenant isolates tenants and keeps one tenant's writers from
/// blocking another's. Every write is a `BEGIN IMMEDIATE` transaction on a WAL database
/// with `synchronous=FULL`, so a commit is on disk when it returns. The connection is
/// serialised by a mutex: callers on any thread may share one instance.
public final class TenantDirectory: @unchecked Sendable {
    public let tenant: String
    public let path: String
    // Guarded by `lock`: SQLite connections are opened NOMUTEX and used by one thread at a time.
    private let connection: Connection
    // A plain pthread mutex: waiters sleep instead of spinning through another thread's fsync.
    private let lock = PthreadLock()

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
            try db.execute("PRAGMA busy_timeout = 10000")
            try db.execute("PRAGMA journal_mode = WAL")
            try db.execute("PRAGMA synchronous = FULL")
            try db.execute("PRAGMA foreign_keys = ON")
            try Schema.migrate(db)
            connection = db
        } catch let e as SQLiteError {
            throw DirectoryError(tenant: tenant, message: "\(path): \(e.message)")
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
    func write<T>(durable: Bool = true, _ body: (Connection) throws -> T) throws -> T {
        try lock.withLock { _ in
            let db = connection
            if !durable { try? db.execute("PRAGMA synchronous = NORMAL") }
            defer { if !durable { try? db.execute("PRAGMA synchronous = FULL") } }
            do {
                try db.execute("BEGIN IMMEDIATE")
            } catch let e as SQLiteError {
                throw DirectoryError(tenant: tenant, message: "store unavailable: \(e.message)")
            }
            do {
                let value = try body(db)
                try db.execute("COMMIT")
                return value
            } catch {
                try? db.execute("ROLLBACK")
                throw wrap(error)
            }
        }
    }

    /// Runs `body` outside an explicit transaction (each statement reads a consistent snapshot).
    func read<T>(_ body: (Connection) throws -> T) throws -> T {
        try lock.withLock { _ in
            let db = connection
            do { return try body(db) } catch { throw wrap(error) }
        }
    }

    private func wrap(_ error: any Error) -> any Error {
        if let e = error as? SQLiteError { return DirectoryError(tenant: tenant, message: e.message) }
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
            throw DirectoryError(tenant: tenant, message: uniqueMessage(db, email: u.email, username: u.username, externalID: u.externalID), isUserError: true)
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
            throw DirectoryError(tenant: tenant, message: uniqueMessage(db, email: after.email, username: after.username, externalID: after.externalID, except: after.id), isUserError: true)
        }
        try audit(db, userID: after.id, action: action, cause: cause, before: before, after: after, now: now)
    }

    func audit(_ db: Connection, userID: Int64, action: String, cause: Cause, before: LocalUser?, after: LocalUser?,
               now: String = Clock.nowText()) throws {
        try db.run(Queries.insertAudit, userID, now, action, cause.kind, cause.reference,
                   before.map(AuditJSON.encode), after.map(AuditJSON.encode))
    }

    private func uniqueMessage(_ db: Connection, email: String?, username: String?, externalID: String?, except: Int64 = -1) -> String {
        if let email, let holder = try? db.first("SELECT id FROM users WHERE email = ? COLLATE NOCASE AND id != ?", email, except, map: { $0.int(0) }) {
            return "email '\(email)' is already used by local user \(holder)"
        }
        if let username, let holder = try? db.first("SELECT id FROM users WHERE username = ? AND id != ?", username, except, map: { $0.int(0) }) {
            return "username '\(username)' is already used by local user \(holder)"
        }
        if let externalID, let holder = try? db.first("SELECT id FROM users WHERE external_id = ? AND id != ?", externalID, except, map: { $0.int(0) }) {
            return "external_id '\(externalID)' is already used by local user \(holder)"
        }
        return "a unique field is already used by another local user"
    }
}

/// The JSON form of a local user in audit rows: stable keys, no Foundation on the hot path.
enum AuditJSON {
    static func encode(_ u: LocalUser) -> String {
        var s = "{\"id\":\(u.id),\"name\":\(quote(u.name)),\"email\":\(quote(u.email)),\"username\":\(quote(u.username)),"
        s += "\"external_id\":\(quote(u.externalID)),\"status\":\"\(u.status.rawValue)\",\"deactivated_by\":\(quote(u.deactivatedBy?.rawValue)),"
        s += "\"reason\":\(quote(u.reason)),\"origin\":\"\(u.origin.rawValue)\"}"
        return s
    }

    private static func quote(_ v: String?) -> String { JSONWriter.quote(v) }
}
