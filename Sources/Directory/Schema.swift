/// The directory's schema as versioned migrations. Each runs in its own transaction and
/// is recorded in `schema_migrations`; a database from any earlier version is brought
/// forward on open. Append new migrations; never edit a released one.
enum Schema {
    static let migrations: [(version: Int, name: String, sql: String)] = [
        (1, "users, links and audit", """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT,
            username TEXT,
            external_id TEXT,
            status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'deactivated')),
            status_before_deactivation TEXT,
            deactivated_by TEXT CHECK (deactivated_by IN ('sync', 'admin')),
            reason TEXT,
            origin TEXT NOT NULL CHECK (origin IN ('manual', 'zendesk', 'intercom')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT;
        CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE) WHERE email IS NOT NULL;
        CREATE UNIQUE INDEX users_username ON users (username) WHERE username IS NOT NULL;
        CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;
        CREATE INDEX users_username_nocase ON users (username COLLATE NOCASE) WHERE username IS NOT NULL;
        CREATE INDEX users_external_id_nocase ON users (external_id COLLATE NOCASE) WHERE external_id IS NOT NULL;
        CREATE INDEX users_status ON users (status);
        CREATE TABLE links (
            source TEXT NOT NULL,
            source_user_id TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            name TEXT,
            email TEXT,
            role TEXT,
            custom_role TEXT,
            active INTEGER,
            suspended INTEGER,
            source_updated_at INTEGER,
            linked_at TEXT NOT NULL,
            PRIMARY KEY (source, source_user_id)
        ) STRICT, WITHOUT ROWID;
        CREATE UNIQUE INDEX links_user ON links (user_id, source);
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL,
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            cause_kind TEXT NOT NULL CHECK (cause_kind IN ('event', 'run', 'admin')),
            cause TEXT NOT NULL,
            before TEXT,
            after TEXT
        ) STRICT;
        CREATE INDEX audit_user ON audit (user_id, id);
        """),
        (2, "runs, conflicts and held deactivations", """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('full', 'incremental')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            outcome TEXT NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'completed', 'failed', 'held')),
            error TEXT,
            pages INTEGER NOT NULL DEFAULT 0,
            fetched INTEGER NOT NULL DEFAULT 0,
            created INTEGER NOT NULL DEFAULT 0,
            linked INTEGER NOT NULL DEFAULT 0,
            renamed INTEGER NOT NULL DEFAULT 0,
            email_changed INTEGER NOT NULL DEFAULT 0,
            deactivated INTEGER NOT NULL DEFAULT 0,
            restored INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            conflicts INTEGER NOT NULL DEFAULT 0,
            held INTEGER NOT NULL DEFAULT 0,
            stale INTEGER NOT NULL DEFAULT 0,
            ignored INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE INDEX runs_source ON runs (source, id);
        CREATE TABLE conflicts (
            source TEXT NOT NULL,
            source_user_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL,
            user_ids TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (source, source_user_id)
        ) STRICT;
        CREATE TABLE deactivations (
            source TEXT NOT NULL,
            source_user_id TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            run_id INTEGER NOT NULL,
            reason TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('deferred', 'held')),
            PRIMARY KEY (source, source_user_id)
        ) STRICT;
        """),
        (3, "webhook inbox and per-source state", """
        CREATE TABLE inbox (
            seq INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            event_id TEXT NOT NULL,
            type TEXT NOT NULL,
            source_user_id TEXT,
            received_at TEXT NOT NULL,
            body BLOB NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'ignored', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            applied_at TEXT,
            UNIQUE (source, event_id)
        ) STRICT;
        CREATE INDEX inbox_open ON inbox (source, seq) WHERE status IN ('pending', 'failed');
        CREATE TABLE source_state (
            source TEXT PRIMARY KEY,
            incremental_cursor TEXT,
            auth_broken INTEGER NOT NULL DEFAULT 0,
            auth_error TEXT,
            last_event_at TEXT,
            webhook_id TEXT,
            webhook_secret TEXT,
            oauth_access_token TEXT,
            oauth_refresh_token TEXT,
            oauth_expires_at INTEGER,
            oauth_state TEXT,
            oauth_verifier TEXT
        ) STRICT;
        """),
        (4, "custom role names on links", """
        ALTER TABLE links ADD COLUMN custom_role_name TEXT;
        """),
        (5, "run leases, per-run seen sets, link touches, failed events, schedule", """
        CREATE TABLE runs_v5 (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('full', 'incremental')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            outcome TEXT NOT NULL DEFAULT 'running'
                CHECK (outcome IN ('running', 'completed', 'failed', 'held', 'abandoned')),
            error TEXT,
            pages INTEGER NOT NULL DEFAULT 0,
            fetched INTEGER NOT NULL DEFAULT 0,
            created INTEGER NOT NULL DEFAULT 0,
            linked INTEGER NOT NULL DEFAULT 0,
            renamed INTEGER NOT NULL DEFAULT 0,
            email_changed INTEGER NOT NULL DEFAULT 0,
            deactivated INTEGER NOT NULL DEFAULT 0,
            restored INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            conflicts INTEGER NOT NULL DEFAULT 0,
            held INTEGER NOT NULL DEFAULT 0,
            stale INTEGER NOT NULL DEFAULT 0,
            ignored INTEGER NOT NULL DEFAULT 0,
            owner TEXT,
            listing_started_ns INTEGER
        ) STRICT;
        INSERT INTO runs_v5 (id, source, kind, started_at, finished_at, outcome, error, pages, fetched, created, linked,
            renamed, email_changed, deactivated, restored, unchanged, conflicts, held, stale, ignored)
            SELECT id, source, kind, started_at, finished_at, outcome, error, pages, fetched, created, linked,
            renamed, email_changed, deactivated, restored, unchanged, conflicts, held, stale, ignored FROM runs;
        DROP TABLE runs;
        ALTER TABLE runs_v5 RENAME TO runs;
        CREATE INDEX runs_source ON runs (source, id);
        CREATE TABLE run_leases (
            source TEXT PRIMARY KEY,
            run_id INTEGER NOT NULL,
            owner TEXT NOT NULL,
            heartbeat_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE run_seen (
            run_id INTEGER NOT NULL,
            source_user_id TEXT NOT NULL,
            PRIMARY KEY (run_id, source_user_id)
        ) STRICT, WITHOUT ROWID;
        ALTER TABLE links ADD COLUMN touched_ns INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE source_state ADD COLUMN next_run_at INTEGER;
        ALTER TABLE source_state ADD COLUMN next_run_kind TEXT;
        ALTER TABLE source_state ADD COLUMN oauth_refresh_claim TEXT;
        ALTER TABLE source_state ADD COLUMN oauth_refresh_claim_until INTEGER;
        ALTER TABLE source_state ADD COLUMN oauth_refresh_uncertain INTEGER NOT NULL DEFAULT 0;
        UPDATE inbox SET status = 'pending' WHERE status = 'failed';
        CREATE INDEX inbox_failed ON inbox (source, seq) WHERE status = 'failed';
        CREATE INDEX inbox_settled ON inbox (applied_at) WHERE status IN ('applied', 'ignored');
        """),
        (6, "desk accounts and why each link is out of scope", """
        ALTER TABLE source_state ADD COLUMN account_id TEXT;
        ALTER TABLE source_state ADD COLUMN account_region TEXT;
        ALTER TABLE links ADD COLUMN out_reason TEXT;
        """),
        (7, "webhook secret rotation", """
        ALTER TABLE source_state ADD COLUMN previous_webhook_secret TEXT;
        ALTER TABLE source_state ADD COLUMN webhook_secret_rotated_at INTEGER;
        """),
        // SQLite evaluates a CHECK of `IN` over three or more constants by building a
        // temporary table on every INSERT (sqlite3FindInIndex: lists of two or fewer terms
        // are compared directly); a first import inserts 200,000 rows through such checks,
        // which cost a fifth of its CPU. The same checks written as `=`/`OR` cost nothing.
        // No query reads users by status through an index, so users_status goes: the sync
        // counts active users once per batch.
        (8, "users and audit checks without IN lists; no status index", """
        CREATE TABLE users_v8 (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT,
            username TEXT,
            external_id TEXT,
            status TEXT NOT NULL CHECK (status = 'pending' OR status = 'active' OR status = 'deactivated'),
            status_before_deactivation TEXT,
            deactivated_by TEXT CHECK (deactivated_by = 'sync' OR deactivated_by = 'admin'),
            reason TEXT,
            origin TEXT NOT NULL CHECK (origin = 'manual' OR origin = 'zendesk' OR origin = 'intercom'),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT;
        INSERT INTO users_v8 (id, name, email, username, external_id, status, status_before_deactivation,
            deactivated_by, reason, origin, created_at, updated_at)
            SELECT id, name, email, username, external_id, status, status_before_deactivation,
            deactivated_by, reason, origin, created_at, updated_at FROM users;
        DROP TABLE users;
        ALTER TABLE users_v8 RENAME TO users;
        CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE) WHERE email IS NOT NULL;
        CREATE UNIQUE INDEX users_username ON users (username) WHERE username IS NOT NULL;
        CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;
        CREATE INDEX users_username_nocase ON users (username COLLATE NOCASE) WHERE username IS NOT NULL;
        CREATE INDEX users_external_id_nocase ON users (external_id COLLATE NOCASE) WHERE external_id IS NOT NULL;
        CREATE TABLE audit_v8 (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL,
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            cause_kind TEXT NOT NULL CHECK (cause_kind = 'event' OR cause_kind = 'run' OR cause_kind = 'admin'),
            cause TEXT NOT NULL,
            before TEXT,
            after TEXT
        ) STRICT;
        INSERT INTO audit_v8 (id, user_id, at, action, cause_kind, cause, before, after)
            SELECT id, user_id, at, action, cause_kind, cause, before, after FROM audit;
        DROP TABLE audit;
        ALTER TABLE audit_v8 RENAME TO audit;
        CREATE INDEX audit_user ON audit (user_id, id);
        """),
        // The same for the inbox: its four-value status check cost every stored event and
        // every status change about 10,000 instructions (callgrind, sqlite3 CLI: 20,000
        // inserts plus one update of each, 1.19G with the IN list, 0.79G with =/OR).
        (9, "inbox check without an IN list", """
        CREATE TABLE inbox_v9 (
            seq INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            event_id TEXT NOT NULL,
            type TEXT NOT NULL,
            source_user_id TEXT,
            received_at TEXT NOT NULL,
            body BLOB NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status = 'pending' OR status = 'applied' OR status = 'ignored' OR status = 'failed'),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            applied_at TEXT,
            UNIQUE (source, event_id)
        ) STRICT;
        INSERT INTO inbox_v9 (seq, source, event_id, type, source_user_id, received_at, body, status, attempts,
            next_attempt_at, last_error, applied_at)
            SELECT seq, source, event_id, type, source_user_id, received_at, body, status, attempts,
            next_attempt_at, last_error, applied_at FROM inbox;
        DROP TABLE inbox;
        ALTER TABLE inbox_v9 RENAME TO inbox;
        CREATE INDEX inbox_open ON inbox (source, seq) WHERE status IN ('pending', 'failed');
        CREATE INDEX inbox_failed ON inbox (source, seq) WHERE status = 'failed';
        CREATE INDEX inbox_settled ON inbox (applied_at) WHERE status IN ('applied', 'ignored');
        """),
        // `applied` is the fingerprint (SyncRules.Fingerprint) of the listing input a full
        // run last applied to the link and found nothing left to do: a later run skips a
        // source user whose input has the same fingerprint. Any change on the local side
        // that input was judged against (the user, this link, the user's other links)
        // clears it, whichever path writes it; the triggers make that so, but for a link
        // added to a user who has others: an INSERT trigger makes SQLite keep a statement
        // journal for every link a first import inserts (+40% of its instructions), and the
        // one place that links an existing user clears the others itself. The sync's own
        // writes set it again after they are done.
        (10, "what each link last applied", """
        ALTER TABLE links ADD COLUMN applied INTEGER;
        CREATE TRIGGER users_changed_links_unapplied AFTER UPDATE ON users BEGIN
            UPDATE links SET applied = NULL WHERE user_id = NEW.id AND applied IS NOT NULL;
        END;
        CREATE TRIGGER link_removed_others_unapplied AFTER DELETE ON links BEGIN
            UPDATE links SET applied = NULL WHERE user_id = OLD.user_id AND applied IS NOT NULL;
        END;
        CREATE TRIGGER link_changed_unapplied AFTER UPDATE OF user_id, name, email, role, custom_role, active, suspended,
            source_updated_at, custom_role_name, out_reason ON links BEGIN
            UPDATE links SET applied = NULL WHERE user_id IN (OLD.user_id, NEW.user_id) AND applied IS NOT NULL
                AND NOT (source = NEW.source AND source_user_id = NEW.source_user_id AND NEW.applied IS NOT OLD.applied);
        END;
        """),
        // An event's body lives beside its inbox row, not in it: settling an event rewrote
        // its whole ~1.3 KB row to change its status, so every applier round dirtied (and
        // wrote to the WAL again) the pages the intake had just written. Status rows are
        // now ~150 bytes, ~25 to a page. Events stored before keep their body in the row
        // (`inbox.body`, empty for later ones) until retention prunes them: moving them
        // would rewrite a month of events in one startup transaction.
        (11, "inbox bodies in their own table", """
        CREATE TABLE inbox_bodies (
            seq INTEGER PRIMARY KEY REFERENCES inbox (seq) ON DELETE CASCADE,
            body BLOB NOT NULL
        ) STRICT;
        """),
    ]

    /// Migrations that rebuild a table other tables reference: foreign keys are off while
    /// they run (dropping `users` would otherwise cascade to its links), and checked after.
    /// Since 11 that includes `inbox` (dropping it would cascade to `inbox_bodies`).
    static let rebuildsReferencedTables: Set<Int> = [8]

    static var latestVersion: Int { migrations.last!.version }

    static func migrate(_ db: Connection) throws {
        try db.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT
            """)
        let current = try db.first("SELECT coalesce(max(version), 0) FROM schema_migrations") { $0.int(0) } ?? 0
        for m in migrations where m.version > current {
            // The pragma is a no-op inside a transaction, so it brackets the migration's.
            let rebuilds = rebuildsReferencedTables.contains(m.version)
            if rebuilds { try db.execute("PRAGMA foreign_keys = OFF") }
            defer { if rebuilds { try? db.execute("PRAGMA foreign_keys = ON") } }
            try db.execute("BEGIN IMMEDIATE")
            do {
                // Another process opening the same new database may have applied it since
                // `current` was read: only the write lock makes the check true.
                if try db.first("SELECT 1 FROM schema_migrations WHERE version = ?", m.version, map: { _ in true }) != nil {
                    try db.execute("COMMIT")
                    continue
                }
                try db.execute(m.sql)
                if rebuilds, let (table, row) = try db.first("PRAGMA foreign_key_check", map: { ($0.text(0), $0.int(1)) }) {
                    throw SQLiteError(code: 787 /* SQLITE_CONSTRAINT_FOREIGNKEY */, message:
                        "migration \(m.version): \(table) row \(row) refers to a row that no longer exists", sql: nil)
                }
                try db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                           m.version, m.name, Clock.nowText())
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }
}
