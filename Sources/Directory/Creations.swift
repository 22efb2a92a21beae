import SyncRules

/// The users a batch creates, with their links and "created" audit rows, held until the
/// batch next reads or writes anything else and then written by multi-row INSERTs: one
/// statement a table for up to 64 users, where single-row INSERTs ran three a user.
/// SQLite's own cost of a first import's rows went from 48k to 34k instructions a user
/// (callgrind of this schema loaded through Python's sqlite3: `executemany` against
/// multi-row VALUES, 20,000 users in pages of 100).
///
/// Ids are given here, as SQLite gives them (one past the largest): the batch holds the
/// write lock, and nothing else inserts users while rows are held.
struct Creations {
    private struct Created {
        var user: LocalUser
        var sourceUserID: String
        var snapshot: LinkSnapshot?
        var applied: Int64?
        var cause: Cause
    }

    private var held: [Created] = []
    private var nextID: Int64?

    /// The local user `u` becomes when written: its id is the next free one.
    mutating func user(_ db: Connection, _ u: NewLocalUser) throws -> LocalUser {
        let id = try nextID ?? db.first(Queries.nextUserID) { $0.int(0) } ?? 1
        return LocalUser(id: id, name: u.name, email: u.email, username: u.username, externalID: u.externalID,
                         status: u.status, origin: u.origin)
    }

    /// Holds `user` (from `user(_:_:)`), linked to `sourceUserID`, and its audit row.
    mutating func hold(_ user: LocalUser, sourceUserID: String, snapshot: LinkSnapshot?, applied: Int64?, cause: Cause) {
        nextID = user.id + 1
        // A run's batch creates up to 250 users: growing from 64 copied the rows twice.
        if held.isEmpty { held.reserveCapacity(256) }
        held.append(Created(user: user, sourceUserID: sourceUserID, snapshot: snapshot, applied: applied, cause: cause))
    }

    /// Writes what is held, in statements of 64, 32, … rows. A unique index violated by one
    /// row fails its whole statement: the caller then redoes the batch with each user
    /// isolated, on the single-row path, which names the collision.
    mutating func write(_ db: Connection, source: SourceKind, now: String, touchedNS: Int64) throws {
        defer {
            held.removeAll(keepingCapacity: true)
            // Writes after this one may insert users the single-row way.
            nextID = nil
        }
        var start = 0
        while start < held.count {
            let size = Self.statementSize(for: held.count - start)
            let rows = held[start..<start + size]
            try insertUsers(db, rows, now: now)
            try insertLinks(db, rows, source: source, now: now, touchedNS: touchedNS)
            try insertAudit(db, rows, now: now)
            start += size
        }
    }

    /// The largest statement size (a power of two, at most 64) that `count` rows fill.
    private static func statementSize(for count: Int) -> Int {
        var size = 64
        while size > count { size /= 2 }
        return size
    }

    private static let sizes = [1, 2, 4, 8, 16, 32, 64]

    private static func statements(_ head: String, shared: Int, perRow: Int, row: (Int) -> String) -> [SQL] {
        sizes.map { n in SQL(head + (0..<n).map { "(" + row(shared + 1 + $0 * perRow) + ")" }.joined(separator: ", ")) }
    }

    private static func numbered(_ first: Int, _ count: Int) -> String {
        (first..<first + count).map { "?\($0)" }.joined(separator: ", ")
    }

    // ?1 is the batch's time (and for links ?2 the source, ?3 the touch stamp): the same
    // for every row, bound once.
    private static let userStatements = statements(
        "INSERT INTO users (id, name, email, username, external_id, status, origin, created_at, updated_at) VALUES ",
        shared: 1, perRow: 7) { numbered($0, 7) + ", ?1, ?1" }
    private static let linkStatements = statements("""
        INSERT INTO links (source, source_user_id, user_id, name, email, role, custom_role, active, suspended, \
        source_updated_at, linked_at, custom_role_name, touched_ns, applied) VALUES
        """ + " ", shared: 3, perRow: 11) { p in
        "?2, " + numbered(p, 9) + ", ?1, " + numbered(p + 9, 1) + ", ?3, " + numbered(p + 10, 1)
    }
    private static let auditStatements = statements(
        "INSERT INTO audit (user_id, at, action, cause_kind, cause, before, after) VALUES ", shared: 1, perRow: 4) { p in
        "?\(p), ?1, 'created', " + numbered(p + 1, 2) + ", NULL, " + numbered(p + 3, 1)
    }

    private static func statement(_ all: [SQL], rows: Int) -> SQL { all[rows.trailingZeroBitCount] }

    private func insertUsers(_ db: Connection, _ rows: ArraySlice<Created>, now: String) throws {
        let s = try db.prepare(Self.statement(Self.userStatements, rows: rows.count))
        s.beginRows()
        try s.bindRow(at: 1, now)
        for (k, r) in rows.enumerated() {
            let u = r.user
            let p = Int32(2 + k * 7)
            try s.bindRow(u.id, at: p)
            try s.bindRow(u.name, at: p + 1)
            try s.bindRow(u.email, at: p + 2)
            try s.bindRow(u.username, at: p + 3)
            try s.bindRow(u.externalID, at: p + 4)
            try s.bindRow(u.status.rawValue, at: p + 5)
            try s.bindRow(u.origin.rawValue, at: p + 6)
        }
        _ = try s.runBound()
    }

    private func insertLinks(_ db: Connection, _ rows: ArraySlice<Created>, source: SourceKind, now: String,
                             touchedNS: Int64) throws {
        let s = try db.prepare(Self.statement(Self.linkStatements, rows: rows.count))
        s.beginRows()
        try s.bindRow(at: 1, now, source.rawValue, touchedNS)
        for (k, r) in rows.enumerated() {
            let n = r.snapshot
            let p = Int32(4 + k * 11)
            try s.bindRow(r.sourceUserID, at: p)
            try s.bindRow(r.user.id, at: p + 1)
            try s.bindRow(n?.name, at: p + 2)
            try s.bindRow(n?.email, at: p + 3)
            try s.bindRow(n?.role, at: p + 4)
            try s.bindRow(n?.customRole, at: p + 5)
            try s.bindRow(n?.active, at: p + 6)
            try s.bindRow(n?.suspended, at: p + 7)
            try s.bindRow(n?.updatedAt?.nanoseconds, at: p + 8)
            try s.bindRow(n?.customRoleName, at: p + 9)
            try s.bindRow(r.applied, at: p + 10)
        }
        _ = try s.runBound()
    }

    private func insertAudit(_ db: Connection, _ rows: ArraySlice<Created>, now: String) throws {
        let s = try db.prepare(Self.statement(Self.auditStatements, rows: rows.count))
        s.beginRows()
        try s.bindRow(at: 1, now)
        for (k, r) in rows.enumerated() {
            let p = Int32(2 + k * 4)
            try s.bindRow(r.user.id, at: p)
            try s.bindRow(r.cause.kind, at: p + 1)
            try s.bindRow(r.cause.reference, at: p + 2)
            try s.bindRow(AuditJSON.encode(r.user), at: p + 3)
        }
        _ = try s.runBound()
    }
}
