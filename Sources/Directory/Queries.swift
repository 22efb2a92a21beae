/// The statements the sync hot path runs for every source user, prepared once per
/// connection and looked up by id.
enum Queries {
    static let userColumns = "id, name, email, username, external_id, status, deactivated_by, reason, origin, "
        + "status_before_deactivation, created_at, updated_at"

    /// A link with its user: user columns 0–11, snapshot columns 12–19, whether the user
    /// has links to other sources (20), then why the link is out of scope (21).
    private static let linkedColumns = """
        u.id, u.name, u.email, u.username, u.external_id, u.status, u.deactivated_by, u.reason, u.origin,
        u.status_before_deactivation, u.created_at, u.updated_at,
        l.name, l.email, l.role, l.custom_role, l.active, l.suspended, l.source_updated_at, l.custom_role_name,
        EXISTS (SELECT 1 FROM links o WHERE o.user_id = l.user_id AND o.source != l.source), l.out_reason
        """
    static let otherLinks = SQL("SELECT source, out_reason FROM links WHERE user_id = ? AND source != ? ORDER BY source")
    static let setLinkOut = SQL("UPDATE links SET out_reason = ? WHERE source = ? AND source_user_id = ?")
    static let linkedUser = SQL("""
        SELECT \(linkedColumns) FROM links l JOIN users u ON u.id = l.user_id WHERE l.source = ? AND l.source_user_id = ?
        """)
    /// `linkedUser` for many source users (given as a JSON array; source user id first in
    /// each row), joined rather than `IN (SELECT …)` for the reason `heldIdentifiers` gives;
    /// CROSS JOIN keeps the list outermost (otherwise the planner scans the source's links).
    static let linkedUsersIn = SQL("""
        SELECT l.source_user_id, \(linkedColumns)
        FROM json_each(?) j CROSS JOIN links l ON l.source = ? AND l.source_user_id = j.value JOIN users u ON u.id = l.user_id
        """)
    /// The identifiers of local users holding any of the given (ASCII-folded) emails,
    /// usernames or external ids, each list a JSON array; served by the NOCASE indexes.
    /// Joins, not `IN (SELECT …)`: SQLite materialises an IN list into a temporary index
    /// before seeking, which cost more than the seeks (a tenth of a first import).
    /// For many source users (a JSON array), the position in it of each that has a link,
    /// with the fingerprint the link last applied (null when none stands).
    static let appliedIn = SQL("""
        SELECT j.key, l.applied FROM json_each(?) j CROSS JOIN links l ON l.source = ? AND l.source_user_id = j.value
        """)
    static let unapplyLinks = SQL("UPDATE links SET applied = NULL WHERE user_id = ? AND applied IS NOT NULL")
    /// `appliedIn` for the links between two ids (BINARY order), at most `limit` of them.
    static let appliedBetween = SQL("""
        SELECT source_user_id, applied FROM links WHERE source = ? AND source_user_id BETWEEN ? AND ? ORDER BY source_user_id LIMIT ?
        """)
    static let setApplied = SQL("UPDATE links SET applied = ? WHERE source = ? AND source_user_id = ?")
    static let heldIdentifiers = SQL("""
        SELECT u.email, u.username, u.external_id FROM json_each(?) j CROSS JOIN users u ON u.email = j.value COLLATE NOCASE
        UNION ALL
        SELECT u.email, u.username, u.external_id FROM json_each(?) j CROSS JOIN users u ON u.username = j.value COLLATE NOCASE
        UNION ALL
        SELECT u.email, u.username, u.external_id FROM json_each(?) j CROSS JOIN users u ON u.external_id = j.value COLLATE NOCASE
        """)
    /// Whether any local user has an email, a username, an external id: each is one step
    /// into a partial index (the rows with the column set).
    static let identifiersInUse = SQL("""
        SELECT EXISTS (SELECT 1 FROM users WHERE email IS NOT NULL), EXISTS (SELECT 1 FROM users WHERE username IS NOT NULL),
        EXISTS (SELECT 1 FROM users WHERE external_id IS NOT NULL)
        """)
    static let candidateColumns = userColumns + ", (SELECT l.source_user_id FROM links l WHERE l.user_id = users.id AND l.source = ?)"
    static let byExternalID = SQL("SELECT \(candidateColumns) FROM users WHERE external_id = ? COLLATE NOCASE")
    static let byEmailOrUsername = SQL("""
        SELECT \(candidateColumns) FROM users WHERE email = ? COLLATE NOCASE OR username = ? COLLATE NOCASE ORDER BY id
        """)
    static let byExternalIDOrUsername = SQL("""
        SELECT \(candidateColumns) FROM users WHERE external_id = ? COLLATE NOCASE OR username = ? COLLATE NOCASE ORDER BY id
        """)
    static let emailHolder = SQL("SELECT \(userColumns) FROM users WHERE email = ? COLLATE NOCASE AND id != ?")
    static let activeCount = SQL("SELECT count(*) FROM users WHERE status = 'active'")
    /// The id SQLite gives the next user inserted without one (`Creations` gives it itself).
    static let nextUserID = SQL("SELECT coalesce(max(id), 0) + 1 FROM users")
    static let userByID = SQL("SELECT \(userColumns) FROM users WHERE id = ?")
    static let insertUser = SQL("""
        INSERT INTO users (name, email, username, external_id, status, origin, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """)
    static let updateUser = SQL("""
        UPDATE users SET name = ?, email = ?, username = ?, external_id = ?, status = ?, deactivated_by = ?,
        reason = ?, status_before_deactivation = ?, updated_at = ? WHERE id = ?
        """)
    static let insertAudit = SQL("INSERT INTO audit (user_id, at, action, cause_kind, cause, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)")
    static let insertLink = SQL("""
        INSERT INTO links (source, source_user_id, user_id, name, email, role, custom_role, active, suspended, source_updated_at,
        linked_at, custom_role_name, touched_ns, applied)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """)
    static let updateLinkSnapshot = SQL("""
        UPDATE links SET name = ?, email = ?, role = ?, custom_role = ?, active = ?, suspended = ?, source_updated_at = ?,
        custom_role_name = ?, touched_ns = ? WHERE source = ? AND source_user_id = ?
        """)
    /// A batch's source users (a JSON array) into a run's seen set, in one statement.
    static let markSeen = SQL("INSERT OR IGNORE INTO run_seen (run_id, source_user_id) SELECT ?, value FROM json_each(?)")
    /// The links a complete listing judges, and a run's seen set, in the same key order
    /// (both primary keys, BINARY collation) for `missingFromListing` to merge.
    static let judgedLinks = SQL("""
        SELECT source_user_id FROM links WHERE source = ? AND source_user_id > ? AND touched_ns < ? ORDER BY source_user_id
        """)
    static let seenFrom = SQL("SELECT source_user_id FROM run_seen WHERE run_id = ? AND source_user_id > ? ORDER BY source_user_id")
    static let touchLink = SQL("UPDATE links SET touched_ns = ? WHERE source = ? AND source_user_id = ?")
    // Transaction control, prepared once: through sqlite3_exec each statement was parsed
    // again on every write (a fifth of the inbox writer's SQLite time).
    static let beginImmediate = SQL("BEGIN IMMEDIATE")
    static let beginRead = SQL("BEGIN")
    static let commit = SQL("COMMIT")
    static let rollback = SQL("ROLLBACK")
    static let savepoint = SQL("SAVEPOINT one_user")
    static let release = SQL("RELEASE one_user")
    static let rollbackToSavepoint = SQL("ROLLBACK TO one_user")
    static let deleteLink = SQL("DELETE FROM links WHERE source = ? AND source_user_id = ?")
    static let deferDeactivation = SQL("""
        INSERT INTO deactivations (source, source_user_id, user_id, run_id, reason, state) VALUES (?, ?, ?, ?, ?, 'deferred')
        ON CONFLICT (source, source_user_id) DO UPDATE SET user_id = excluded.user_id, run_id = excluded.run_id,
        reason = excluded.reason, state = 'deferred'
        """)
    static let deleteDeactivation = SQL("DELETE FROM deactivations WHERE source = ? AND source_user_id = ?")
    static let anyDeactivation = SQL("SELECT EXISTS (SELECT 1 FROM deactivations WHERE source = ?)")
    static let upsertConflict = SQL("""
        INSERT INTO conflicts (source, source_user_id, kind, detail, user_ids, first_seen, last_seen)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (source, source_user_id) DO UPDATE SET kind = excluded.kind, detail = excluded.detail,
        user_ids = excluded.user_ids, last_seen = excluded.last_seen
        """)
    static let deleteConflict = SQL("DELETE FROM conflicts WHERE source = ? AND source_user_id = ?")
    static let anyConflict = SQL("SELECT EXISTS (SELECT 1 FROM conflicts WHERE source = ?)")

    static let insertInbox = SQL("""
        INSERT INTO inbox (source, event_id, type, source_user_id, received_at, body, status, applied_at)
        VALUES (?, ?, ?, ?, ?, x'', ?, ?) ON CONFLICT (source, event_id) DO NOTHING
        """)
    /// The body of the event `insertInbox` just stored.
    static let insertInboxBody = SQL("INSERT INTO inbox_bodies (seq, body) VALUES (last_insert_rowid(), ?)")
    /// Written at most once a second (?3 is a second before ?2): under a burst, every
    /// group commit rewrote the source_state page (and its b-tree's root) for a time that
    /// `status` shows to the second anyway.
    static let touchLastEvent = SQL("""
        INSERT INTO source_state (source, last_event_at) VALUES (?1, ?2)
        ON CONFLICT (source) DO UPDATE SET last_event_at = excluded.last_event_at
        WHERE last_event_at IS NULL OR last_event_at < ?3
        """)
    // The repeated IN term lets SQLite use the partial index inbox_open instead of scanning.
    static let openInbox = SQL("""
        SELECT seq, source, event_id, type, source_user_id, received_at, status, attempts, last_error,
        coalesce(b.body, inbox.body) FROM inbox LEFT JOIN inbox_bodies b USING (seq)
        WHERE source = ? AND status IN ('pending', 'failed') AND status = 'pending' AND next_attempt_at <= ?
        ORDER BY seq LIMIT ?
        """)
    static let nextRetry = SQL("""
        SELECT min(next_attempt_at) FROM inbox WHERE source = ? AND status IN ('pending', 'failed') AND status = 'pending'
        AND next_attempt_at > 0
        """)
    /// Settles the events whose seqs are given as a JSON array, in one statement. `IN`, not
    /// `UPDATE … FROM json_each`: a join in an UPDATE is first copied into a temporary
    /// table, which cost a quarter more a row (2.6 against 3.4 µs, 100 rows a statement).
    static let completeInbox = SQL("""
        UPDATE inbox SET status = ?, applied_at = ?, last_error = ? WHERE seq IN (SELECT value FROM json_each(?))
        """)
    static let retryInbox = SQL("""
        UPDATE inbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE seq = ?
        """)
    static let failInbox = SQL("""
        UPDATE inbox SET status = 'failed', attempts = attempts + 1, last_error = ?, applied_at = ? WHERE seq = ?
        """)
}
