-- A tenant database exactly as schema version 1 created it, with one linked user.
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;
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
INSERT INTO schema_migrations VALUES (1, 'users, links and audit', '2026-01-01T00:00:00Z');
INSERT INTO users (id, name, email, status, origin, created_at, updated_at) VALUES (1, 'Legacy Ann', 'ann@legacy.example', 'active', 'zendesk', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
INSERT INTO links (source, source_user_id, user_id, name, email, role, active, suspended, source_updated_at, linked_at) VALUES ('zendesk', '42', 1, 'Legacy Ann', 'ann@legacy.example', 'agent', 1, 0, 1000000000000, '2026-01-01T00:00:00Z');
INSERT INTO audit (user_id, at, action, cause_kind, cause, after) VALUES (1, '2026-01-01T00:00:00Z', 'created', 'run', '1', '{}');
