import Glibc
import SyncRules

extension TenantDirectory {
    /// Starts a full run under the tenant source's run lease, taken inside `BEGIN
    /// IMMEDIATE` so two processes cannot both take it. A lease whose holder is gone
    /// (expired, or its process no longer exists on this host) is taken over, and that
    /// holder's run is marked `abandoned` with its deferred work discarded.
    ///
    /// Throws `DirectoryError` `.leaseHeld` when another live run holds it.
    public func startFullRun(source: SourceKind, owner: String, ttl: Int64 = 120) throws -> RunStart {
        try write { db in
            let now = Clock.nowSeconds()
            if let lease = try lease(db, source: source), lease.expiresAt > now, RunOwner.isAlive(lease.owner) {
                throw DirectoryError(tenant: tenant, .leaseHeld(lease))
            }
            let abandoned = try abandonRuns(db, source: source, kind: .full)
            let listingStarted = Clock.nowNanoseconds()
            try db.run("INSERT INTO runs (source, kind, started_at, owner, listing_started_ns) VALUES (?, 'full', ?, ?, ?)",
                       source.rawValue, Clock.nowText(), owner, listingStarted)
            let runID = db.lastInsertRowID
            try db.run("""
                INSERT INTO run_leases (source, run_id, owner, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (source) DO UPDATE SET run_id = excluded.run_id, owner = excluded.owner,
                heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
                """, source.rawValue, runID, owner, now, now + ttl)
            return RunStart(runID: runID, listingStartedNS: listingStarted, abandoned: abandoned)
        }
    }

    /// Records the start of an incremental run (no lease: it only ever applies what the
    /// source says changed, which is safe beside a full run).
    public func startIncrementalRun(source: SourceKind, owner: String) throws -> Int64 {
        try write { db in
            _ = try abandonRuns(db, source: source, kind: .incremental)
            try db.run("INSERT INTO runs (source, kind, started_at, owner) VALUES (?, 'incremental', ?, ?)",
                       source.rawValue, Clock.nowText(), owner)
            return db.lastInsertRowID
        }
    }

    /// Extends the lease of a running full run. Throws `.leaseHeld` when the lease has
    /// passed to another holder (this run stalled past its expiry): the run must stop.
    public func heartbeat(runID: Int64, source: SourceKind, ttl: Int64 = 120) throws {
        try write(durable: false) { db in
            let now = Clock.nowSeconds()
            let n = try db.run("UPDATE run_leases SET heartbeat_at = ?, expires_at = ? WHERE source = ? AND run_id = ?",
                               now, now + ttl, source.rawValue, runID)
            if n == 0 {
                let holder = try lease(db, source: source)
                    ?? RunLease(source: source, runID: 0, owner: "nobody", heartbeatAt: 0, expiresAt: 0)
                throw DirectoryError(tenant: tenant, .leaseHeld(holder))
            }
        }
    }

    /// The current holder of a tenant source's run lease, if it is still valid.
    public func runLease(source: SourceKind) throws -> RunLease? {
        try read { db in
            guard let l = try lease(db, source: source), l.expiresAt > Clock.nowSeconds(), RunOwner.isAlive(l.owner) else { return nil }
            return l
        }
    }

    private func lease(_ db: Connection, source: SourceKind) throws -> RunLease? {
        try db.first("SELECT run_id, owner, heartbeat_at, expires_at FROM run_leases WHERE source = ?", source.rawValue) { r in
            RunLease(source: source, runID: r.int(0), owner: r.text(1), heartbeatAt: r.int(2), expiresAt: r.int(3))
        }
    }

    /// Marks the runs of `source` that died with their process `abandoned` now (SPEC §2),
    /// not when the next full run takes the lease: a full run whose lease holder is gone
    /// (expired, or its process no longer on this host), which frees the lease, and an
    /// incremental run whose process is gone. For a caller that saw a run `running`.
    /// Returns the runs it marked, with their kind.
    public func abandonDeadRuns(source: SourceKind) throws -> [(id: Int64, kind: RunRecord.Kind)] {
        try write { db in
            var out: [(id: Int64, kind: RunRecord.Kind)] = []
            let now = Clock.nowSeconds()
            let held = try lease(db, source: source).map { $0.expiresAt > now && RunOwner.isAlive($0.owner) } ?? false
            if !held {
                out += try abandonRuns(db, source: source, kind: .full).map { ($0, .full) }
                try db.run("DELETE FROM run_leases WHERE source = ?", source.rawValue)
            }
            out += try abandonRuns(db, source: source, kind: .incremental).map { ($0, .incremental) }
            return out
        }
    }

    /// Marks runs of `kind` left `running` by processes that are gone as `abandoned`,
    /// discarding a full run's deferred deactivations and seen set. Called with the lease
    /// free, so no full run in `running` state is alive.
    private func abandonRuns(_ db: Connection, source: SourceKind, kind: RunRecord.Kind) throws -> [Int64] {
        let open = try db.query("SELECT id, owner FROM runs WHERE source = ? AND kind = ? AND outcome = 'running'",
                                source.rawValue, kind.rawValue) { ($0.int(0), $0.optionalText(1)) }
        var out: [Int64] = []
        for (id, owner) in open {
            if kind == .incremental, let owner, RunOwner.isAlive(owner) { continue }
            try db.run("UPDATE runs SET outcome = 'abandoned', finished_at = ?, error = ? WHERE id = ?", Clock.nowText(),
                       "abandoned: its process (\(owner ?? "unknown")) ended before the run did", id)
            try db.run("DELETE FROM deactivations WHERE run_id = ? AND state = 'deferred'", id)
            try db.run("DELETE FROM run_seen WHERE run_id = ?", id)
            out.append(id)
        }
        return out
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
            if outcome != .running {
                // With no other run's marks, a DELETE without WHERE empties the table a page
                // at a time (SQLite's truncate): row by row was 5% of a no-change run.
                let others = try db.first("""
                    SELECT EXISTS (SELECT 1 FROM run_seen WHERE run_id < ?) OR EXISTS (SELECT 1 FROM run_seen WHERE run_id > ?)
                    """, id, id) { $0.bool(0) } ?? true
                if others { try db.run("DELETE FROM run_seen WHERE run_id = ?", id) } else { try db.run("DELETE FROM run_seen") }
                try db.run("DELETE FROM run_leases WHERE run_id = ?", id)
            }
        }
    }

    /// Linked source users a complete full listing did not contain, `limit` at a time
    /// after `after` (so memory stays flat however many are missing). Only links that
    /// existed, untouched, when the listing began are judged: a link a webhook or an
    /// incremental pass made or refreshed during the run is not this run's to judge.
    ///
    /// The links and the run's seen set are read as two scans in the same key order and
    /// merged here: a lookup in the seen set per link cost 4,500 instructions, most of a
    /// no-change run's end.
    public func missingFromListing(_ run: RunStart, source: SourceKind, after: String, limit: Int = 500) throws -> [String] {
        try read { db in
            let links = try db.prepare(Queries.judgedLinks)
            let seen = try db.prepare(Queries.seenFrom)
            try links.bind(source.rawValue, after, run.listingStartedNS)
            try seen.bind(run.runID, after)
            defer { links.reset(); seen.reset() }
            var out: [String] = []
            var seenHasRow = try seen.step()
            while out.count < limit, try links.step() {
                let link = Row(stmt: links.stmt)
                let id = link.textBytes(0)
                var order = 1
                while seenHasRow {
                    order = Row.binaryOrder(Row(stmt: seen.stmt).textBytes(0), id)
                    if order >= 0 { break }
                    seenHasRow = try seen.step()
                }
                if order != 0 { out.append(link.text(0)) }
            }
            return out
        }
    }

    public func linkedCount(source: SourceKind) throws -> Int {
        try read { db in Int(try db.first("SELECT count(*) FROM links WHERE source = ?", source.rawValue) { $0.int(0) } ?? 0) }
    }

    /// Ends a complete full run's deferred deactivations: applied when within `limit`
    /// (or confirmed), otherwise held for an admin. Returns (applied, held).
    public func settleDeactivations(runID: Int64, source: SourceKind, limit: Int, confirm: Bool) throws -> (applied: Int, held: Int) {
        try write { db in
            let deferred = "SELECT count(*) FROM deactivations WHERE run_id = ? AND state = 'deferred'"
            let count = Int(try db.first(deferred, runID) { $0.int(0) } ?? 0)
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
            // The runs that held them stay `held` (what they did), but no longer ask for a
            // confirmation that has been given.
            try db.run("""
                UPDATE runs SET error = replace(error, 'confirm with --confirm-deactivations', ?)
                WHERE outcome = 'held' AND id IN (SELECT run_id FROM deactivations WHERE source = ? AND state = 'held')
                """, "confirmed at \(Clock.nowText()) by \(cause)", source.rawValue)
            return try applyDeactivations(db, whereSQL: "source = ? AND state = 'held'", arg: source.rawValue, cause: cause)
        }
    }

    private func applyDeactivations(_ db: Connection, whereSQL: String, arg: SQLBindable, cause: Cause) throws -> Int {
        let rows = try db.query("SELECT source, source_user_id, user_id, reason FROM deactivations WHERE \(whereSQL)", arg) {
            ($0.text(0), $0.text(1), $0.int(2), $0.text(3))
        }
        var applied = 0
        for (source, sid, userID, reason) in rows {
            let kind = SourceKind(rawValue: source) ?? SourceKind.allCases[0]
            let view = DirectoryView(otherLinks: try otherLinks(db, userID: userID, source: kind))
            if let user = try fetchUser(db, id: userID),
               let after = Rules.deactivated(user, reason: reason, view: view, source: kind) {
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
                HeldDeactivation(source: r.sourceKind(0), sourceUserID: r.text(1),
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
                return RunRecord(id: r.int(0), source: r.sourceKind(1),
                                 kind: RunRecord.Kind(rawValue: r.text(2)) ?? .full, startedAt: r.text(3),
                                 finishedAt: r.optionalText(4), outcome: RunRecord.Outcome(rawValue: r.text(5)) ?? .failed,
                                 error: r.optionalText(6), pages: Int(r.int(7)), counts: c)
            }
        }
    }

    // MARK: per-source state

    public func sourceState(_ source: SourceKind) throws -> SourceState {
        try read { db in try sourceState(db, source) }
    }

    private func sourceState(_ db: Connection, _ source: SourceKind) throws -> SourceState {
        try db.first("""
            SELECT incremental_cursor, auth_broken, auth_error, last_event_at, webhook_id, webhook_secret,
            oauth_access_token, oauth_refresh_token, oauth_expires_at, oauth_state, oauth_verifier,
            next_run_at, next_run_kind, oauth_refresh_claim, oauth_refresh_claim_until, oauth_refresh_uncertain,
            account_id, account_region
            FROM source_state WHERE source = ?
            """, source.rawValue) { r in
            var s = SourceState()
            s.incrementalCursor = r.optionalText(0); s.authBroken = r.bool(1); s.authError = r.optionalText(2)
            s.lastEventAt = r.optionalText(3); s.webhookID = r.optionalText(4); s.webhookSecret = r.optionalText(5)
            s.oauthAccessToken = r.optionalText(6); s.oauthRefreshToken = r.optionalText(7)
            s.oauthExpiresAt = r.optionalInt(8); s.oauthState = r.optionalText(9); s.oauthVerifier = r.optionalText(10)
            s.nextRunAt = r.optionalInt(11); s.nextRunKind = r.optionalText(12)
            s.oauthRefreshClaim = r.optionalText(13); s.oauthRefreshClaimUntil = r.optionalInt(14)
            s.oauthRefreshUncertain = r.bool(15)
            s.accountID = r.optionalText(16); s.accountRegion = r.optionalText(17)
            return s
        } ?? SourceState()
    }

    /// Changes a source's state atomically: the read, the change and the write happen in
    /// one `BEGIN IMMEDIATE` transaction, so two processes cannot lose each other's update.
    /// `change` may throw to abandon the update; what it returns is handed back.
    @discardableResult
    public func updateSourceState<T>(_ source: SourceKind, _ change: (inout SourceState) throws -> T) throws -> T {
        try write { db in
            var state = try sourceState(db, source)
            let before = state
            let value = try change(&state)
            // Nothing changed, nothing written: the commit then writes no page and waits for
            // no fsync (a scheduler re-plans the same next run every few seconds).
            guard state != before else { return value }
            try db.run("""
                INSERT INTO source_state (source, incremental_cursor, auth_broken, auth_error, last_event_at, webhook_id,
                webhook_secret, oauth_access_token, oauth_refresh_token, oauth_expires_at, oauth_state, oauth_verifier,
                next_run_at, next_run_kind, oauth_refresh_claim, oauth_refresh_claim_until, oauth_refresh_uncertain,
                account_id, account_region)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (source) DO UPDATE SET incremental_cursor = excluded.incremental_cursor,
                auth_broken = excluded.auth_broken, auth_error = excluded.auth_error, last_event_at = excluded.last_event_at,
                webhook_id = excluded.webhook_id, webhook_secret = excluded.webhook_secret,
                oauth_access_token = excluded.oauth_access_token, oauth_refresh_token = excluded.oauth_refresh_token,
                oauth_expires_at = excluded.oauth_expires_at, oauth_state = excluded.oauth_state,
                oauth_verifier = excluded.oauth_verifier, next_run_at = excluded.next_run_at,
                next_run_kind = excluded.next_run_kind, oauth_refresh_claim = excluded.oauth_refresh_claim,
                oauth_refresh_claim_until = excluded.oauth_refresh_claim_until,
                oauth_refresh_uncertain = excluded.oauth_refresh_uncertain,
                account_id = excluded.account_id, account_region = excluded.account_region
                """, source.rawValue, state.incrementalCursor, state.authBroken, state.authError, state.lastEventAt,
                state.webhookID, state.webhookSecret, state.oauthAccessToken, state.oauthRefreshToken,
                state.oauthExpiresAt, state.oauthState, state.oauthVerifier, state.nextRunAt, state.nextRunKind,
                state.oauthRefreshClaim, state.oauthRefreshClaimUntil, state.oauthRefreshUncertain,
                state.accountID, state.accountRegion)
            return value
        }
    }
}

/// A started full run: its id and when its listing began (links touched after that are
/// not judged "missing" by it); `abandoned` names dead runs it took the lease from.
public struct RunStart: Sendable, Equatable {
    public var runID: Int64
    public var listingStartedNS: Int64
    public var abandoned: [Int64]
}

/// Who holds a run lease, as `PID@HOST ROLE`, and whether that process still exists.
public enum RunOwner {
    /// This process's owner text.
    public static func current(role: String) -> String {
        "\(getpid())@\(hostName()) \(role)"
    }

    /// False only when the owner is on this host and its process is gone; an owner on
    /// another host is trusted until its lease expires.
    static func isAlive(_ owner: String) -> Bool {
        let head = owner.split(separator: " ", maxSplits: 1).first.map(String.init) ?? owner
        let parts = head.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, let pid = Int32(parts[0]), String(parts[1]) == hostName() else { return true }
        if pid == getpid() { return true }
        guard kill(pid, 0) == 0 || errno != ESRCH else { return false }
        return !isZombie(pid)
    }

    /// A process killed but not yet reaped (state `Z` in `/proc/PID/stat`, after the
    /// command's closing parenthesis) still answers `kill(pid, 0)`; in a container whose
    /// init does not reap, it would hold its run's lease until the lease expired.
    private static func isZombie(_ pid: Int32) -> Bool {
        guard let f = fopen("/proc/\(pid)/stat", "r") else { return false }
        defer { fclose(f) }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = fread(&buf, 1, buf.count, f)
        guard let close = buf[..<n].lastIndex(of: UInt8(ascii: ")")), close + 2 < n else { return false }
        return buf[close + 2] == UInt8(ascii: "Z") || buf[close + 2] == UInt8(ascii: "X")
    }

    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
