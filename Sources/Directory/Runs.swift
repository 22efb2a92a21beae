import SyncRules

extension TenantDirectory {
    /// Records the start of a run and, for a full run, clears its seen-set.
    public func startRun(source: SourceKind, kind: RunRecord.Kind) throws -> Int64 {
        try write { db in
            if kind == .full {
                try db.execute("CREATE TEMP TABLE IF NOT EXISTS seen_\(source.rawValue) (source_user_id TEXT PRIMARY KEY) WITHOUT ROWID")
                try db.execute("DELETE FROM temp.seen_\(source.rawValue)")
            }
            try db.run("INSERT INTO runs (source, kind, started_at) VALUES (?, ?, ?)", source.rawValue, kind.rawValue, Clock.nowText())
            return db.lastInsertRowID
        }
    }

    /// Saves a run's progress so `status` shows a running run's counts.
    public func recordRun(_ id: Int64, pages: Int, counts: SyncCounts, outcome: RunRecord.Outcome = .running,
                          error: String? = nil) throws {
        try write { db in
            try db.run("""
                UPDATE runs SET pages = ?, fetched = ?, created = ?, linked = ?, renamed = ?, email_changed = ?, deactivated = ?,
                restored = ?, unchanged = ?, conflicts = ?, held = ?, stale = ?, ignored = ?, outcome = ?, error = ?,
                finished_at = CASE WHEN ? = 'running' THEN NULL ELSE ? END WHERE id = ?
                """, pages, counts.fetched, counts.created, counts.linked, counts.renamed, counts.emailChanged,
                counts.deactivated, counts.restored, counts.unchanged, counts.conflicts, counts.held, counts.stale,
                counts.ignored, outcome.rawValue, error, outcome.rawValue, Clock.nowText(), id)
            if outcome == .failed {
                // A run that failed part way deactivates nobody.
                try db.run("DELETE FROM deactivations WHERE run_id = ? AND state = 'deferred'", id)
            }
        }
    }

    /// Linked source users a complete full listing did not contain, `limit` at a time
    /// after `after` (so memory stays flat however many are missing).
    public func missingFromListing(source: SourceKind, after: String, limit: Int = 500) throws -> [String] {
        try read { db in
            try db.query("""
                SELECT l.source_user_id FROM links l
                WHERE l.source = ? AND l.source_user_id > ?
                AND NOT EXISTS (SELECT 1 FROM temp.seen_\(source.rawValue) s WHERE s.source_user_id = l.source_user_id)
                ORDER BY l.source_user_id LIMIT ?
                """, source.rawValue, after, limit) { $0.text(0) }
        }
    }

    public func linkedCount(source: SourceKind) throws -> Int {
        try read { db in Int(try db.first("SELECT count(*) FROM links WHERE source = ?", source.rawValue) { $0.int(0) } ?? 0) }
    }

    /// Ends a complete full run's deferred deactivations: applied when within `limit`
    /// (or confirmed), otherwise held for an admin. Returns (applied, held).
    public func settleDeactivations(runID: Int64, source: SourceKind, limit: Int, confirm: Bool) throws -> (applied: Int, held: Int) {
        try write { db in
            let count = Int(try db.first("SELECT count(*) FROM deactivations WHERE run_id = ? AND state = 'deferred'", runID) { $0.int(0) } ?? 0)
            if count > limit && !confirm {
                try db.run("UPDATE deactivations SET state = 'held' WHERE run_id = ? AND state = 'deferred'", runID)
                return (0, count)
            }
            let applied = try applyDeactivations(db, whereSQL: "run_id = ?", arg: runID, cause: .run(runID))
            return (applied, 0)
        }
    }

    /// Applies every held deactivation of a source: an admin confirmed them.
    public func confirmHeldDeactivations(source: SourceKind, cause: Cause) throws -> Int {
        try write { db in
            try applyDeactivations(db, whereSQL: "source = ? AND state = 'held'", arg: source.rawValue, cause: cause)
        }
    }

    private func applyDeactivations(_ db: Connection, whereSQL: String, arg: SQLBindable, cause: Cause) throws -> Int {
        let rows = try db.query("SELECT source, source_user_id, user_id, reason FROM deactivations WHERE \(whereSQL)", arg) {
            ($0.text(0), $0.text(1), $0.int(2), $0.text(3))
        }
        var applied = 0
        for (source, sid, userID, reason) in rows {
            if let user = try fetchUser(db, id: userID), let after = Rules.deactivated(user, reason: reason) {
                try updateUser(db, from: user, to: after, action: "deactivated", cause: cause)
                applied += 1
            }
            try db.run("DELETE FROM deactivations WHERE source = ? AND source_user_id = ?", source, sid)
        }
        return applied
    }

    public func heldDeactivations(source: SourceKind? = nil) throws -> [HeldDeactivation] {
        try read { db in
            let sql = "SELECT source, source_user_id, user_id, run_id, reason FROM deactivations WHERE state = 'held'"
                + (source == nil ? "" : " AND source = ?") + " ORDER BY user_id"
            return try db.query(sql, arguments: source.map { [$0.rawValue] } ?? []) { r in
                HeldDeactivation(source: SourceKind(rawValue: r.text(0)) ?? .zendesk, sourceUserID: r.text(1),
                                 userID: r.int(2), runID: r.int(3), reason: r.text(4))
            }
        }
    }

    /// Recent runs of a source, newest first.
    public func runs(source: SourceKind? = nil, limit: Int = 20) throws -> [RunRecord] {
        try read { db in
            let sql = """
                SELECT id, source, kind, started_at, finished_at, outcome, error, pages, fetched, created, linked, renamed,
                email_changed, deactivated, restored, unchanged, conflicts, held, stale, ignored FROM runs
                """ + (source == nil ? "" : " WHERE source = ?") + " ORDER BY id DESC LIMIT ?"
            let args: [SQLBindable?] = (source.map { [$0.rawValue] } ?? []) + [limit]
            return try db.query(sql, arguments: args) { r in
                var c = SyncCounts()
                c.fetched = Int(r.int(8)); c.created = Int(r.int(9)); c.linked = Int(r.int(10)); c.renamed = Int(r.int(11))
                c.emailChanged = Int(r.int(12)); c.deactivated = Int(r.int(13)); c.restored = Int(r.int(14))
                c.unchanged = Int(r.int(15)); c.conflicts = Int(r.int(16)); c.held = Int(r.int(17))
                c.stale = Int(r.int(18)); c.ignored = Int(r.int(19))
                return RunRecord(id: r.int(0), source: SourceKind(rawValue: r.text(1)) ?? .zendesk,
                                 kind: RunRecord.Kind(rawValue: r.text(2)) ?? .full, startedAt: r.text(3),
                                 finishedAt: r.optionalText(4), outcome: RunRecord.Outcome(rawValue: r.text(5)) ?? .failed,
                                 error: r.optionalText(6), pages: Int(r.int(7)), counts: c)
            }
        }
    }

    // MARK: per-source state

    public func sourceState(_ source: SourceKind) throws -> SourceState {
        try read { db in
            try db.first("""
                SELECT incremental_cursor, auth_broken, auth_error, last_event_at, webhook_id, webhook_secret,
                oauth_access_token, oauth_refresh_token, oauth_expires_at, oauth_state, oauth_verifier
                FROM source_state WHERE source = ?
                """, source.rawValue) { r in
                var s = SourceState()
                s.incrementalCursor = r.optionalText(0); s.authBroken = r.bool(1); s.authError = r.optionalText(2)
                s.lastEventAt = r.optionalText(3); s.webhookID = r.optionalText(4); s.webhookSecret = r.optionalText(5)
                s.oauthAccessToken = r.optionalText(6); s.oauthRefreshToken = r.optionalText(7)
                s.oauthExpiresAt = r.optionalInt(8); s.oauthState = r.optionalText(9); s.oauthVerifier = r.optionalText(10)
                return s
            } ?? SourceState()
        }
    }

    /// Changes a source's state atomically (read, modify, write in one transaction).
    public func updateSourceState(_ source: SourceKind, _ change: (inout SourceState) -> Void) throws {
        var state = try sourceState(source)
        change(&state)
        _ = try write { db in
            try db.run("""
                INSERT INTO source_state (source, incremental_cursor, auth_broken, auth_error, last_event_at, webhook_id,
                webhook_secret, oauth_access_token, oauth_refresh_token, oauth_expires_at, oauth_state, oauth_verifier)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (source) DO UPDATE SET incremental_cursor = excluded.incremental_cursor,
                auth_broken = excluded.auth_broken, auth_error = excluded.auth_error, last_event_at = excluded.last_event_at,
                webhook_id = excluded.webhook_id, webhook_secret = excluded.webhook_secret,
                oauth_access_token = excluded.oauth_access_token, oauth_refresh_token = excluded.oauth_refresh_token,
                oauth_expires_at = excluded.oauth_expires_at, oauth_state = excluded.oauth_state,
                oauth_verifier = excluded.oauth_verifier
                """, source.rawValue, state.incrementalCursor, state.authBroken, state.authError, state.lastEventAt,
                state.webhookID, state.webhookSecret, state.oauthAccessToken, state.oauthRefreshToken,
                state.oauthExpiresAt, state.oauthState, state.oauthVerifier)
        }
    }
}
