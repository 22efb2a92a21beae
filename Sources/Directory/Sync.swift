import SyncRules

/// One piece of evidence about a source user and the cause its changes are audited under.
public struct Evidence: Sendable, Equatable {
    public var observation: Observation
    public var cause: Cause

    public init(_ observation: Observation, cause: Cause) {
        self.observation = observation
        self.cause = cause
    }
}

/// How a batch treats the deactivations its decisions ask for.
public enum DeactivationMode: Sendable, Equatable {
    /// Apply them at once (webhooks, incremental catch-up).
    case immediate
    /// A full run: record them for the run and mark each seen source user, so the run
    /// can apply them only if the listing completes and the guard allows.
    case deferred(runID: Int64)
}

extension TenantDirectory {
    /// Applies a batch of evidence through the sync rules in one transaction, returning
    /// each decision as carried out (deferred deactivations are not counted as done).
    public func apply(_ batch: [Evidence], settings: SyncSettings, licenceLimit: Int,
                      mode: DeactivationMode = .immediate) throws -> [Decision] {
        try write { db in
            var out: [Decision] = []
            out.reserveCapacity(batch.count)
            for e in batch {
                if case .deferred = mode {
                    try db.run("INSERT OR IGNORE INTO temp.\(seenTable(settings.source)) (source_user_id) VALUES (?)",
                               e.observation.sourceUserID)
                }
                out.append(try applyOne(db, e, settings: settings, licenceLimit: licenceLimit, mode: mode))
            }
            return out
        }
    }

    private func seenTable(_ s: SourceKind) -> String { "seen_\(s.rawValue)" }

    func fetchLink(_ db: Connection, source: SourceKind, sourceUserID: String) throws -> Link? {
        try db.first("""
            SELECT user_id, name, email, role, custom_role, active, suspended, source_updated_at
            FROM links WHERE source = ? AND source_user_id = ?
            """, source.rawValue, sourceUserID) { r in
            let snapshot = r.isNull(1) ? nil : LinkSnapshot(
                name: r.text(1), email: r.optionalText(2), role: r.text(3), customRole: r.optionalText(4),
                active: r.bool(5), suspended: r.bool(6), updatedAt: r.optionalInt(7).map(Timestamp.init(nanoseconds:)))
            return Link(source: source, sourceUserID: sourceUserID, userID: r.int(0), snapshot: snapshot)
        }
    }

    func candidates(_ db: Connection, _ q: MatchQuery, source: SourceKind) throws -> MatchCandidates {
        let cols = Self.userColumns + ", (SELECT l.source_user_id FROM links l WHERE l.user_id = users.id AND l.source = ?)"
        func map(_ r: Row) -> MatchCandidates.Candidate {
            .init(user: Self.localUser(r), linkedTo: r.optionalText(12))
        }
        var out = MatchCandidates()
        if let ext = q.externalIDEquals, !ext.isEmpty {
            out.byExternalID = try db.query("SELECT \(cols) FROM users WHERE external_id = ? COLLATE NOCASE",
                                            source.rawValue, ext, map: map)
        }
        if let value = q.value, !value.isEmpty, q.fields.count == 2 {
            let a = q.fields[0].rawValue, b = q.fields[1].rawValue
            out.byIdentifier = try db.query(
                "SELECT \(cols) FROM users WHERE \(a) = ? COLLATE NOCASE OR \(b) = ? COLLATE NOCASE ORDER BY id",
                source.rawValue, value, value, map: map)
        }
        return out
    }

    func activeCount(_ db: Connection) throws -> Int {
        Int(try db.first("SELECT count(*) FROM users WHERE status = 'active'") { $0.int(0) } ?? 0)
    }

    private func applyOne(_ db: Connection, _ e: Evidence, settings: SyncSettings, licenceLimit: Int,
                          mode: DeactivationMode) throws -> Decision {
        let source = settings.source
        let sid = e.observation.sourceUserID
        let link = try fetchLink(db, source: source, sourceUserID: sid)
        let linked = try link.flatMap { try fetchUser(db, id: $0.userID) }
        var view = DirectoryView(link: linked == nil ? nil : link, linkedUser: linked)
        if case .seen(let u) = e.observation {
            if linked == nil && settings.scope.exclusion(of: u) == nil {
                view.candidates = try candidates(db, MatchQuery(for: u, identifier: settings.identifier), source: source)
            }
            if let email = u.email, !email.isEmpty, email != linked?.email {
                view.emailHolder = try db.first("SELECT \(Self.userColumns) FROM users WHERE email = ? COLLATE NOCASE AND id != ?",
                                                email, linked?.id ?? -1, map: Self.localUser)
            }
            if linked?.status == .deactivated {
                view.seatFree = try activeCount(db) < licenceLimit
            }
        }
        var d = Rules.decide(e.observation, view: view, settings: settings)
        let wantsDeactivation = d.effects.contains(.deactivated)

        var userID = linked?.id
        var before = linked
        if let c = d.create {
            let created = try insertUser(db, c, cause: e.cause)
            userID = created.id
            before = created
            try insertLink(db, source: source, sourceUserID: sid, userID: created.id, snapshot: d.snapshot)
        } else if let target = d.linkTo {
            if link != nil { try db.run("DELETE FROM links WHERE source = ? AND source_user_id = ?", source.rawValue, sid) }
            before = try fetchUser(db, id: target)
            userID = target
            try insertLink(db, source: source, sourceUserID: sid, userID: target, snapshot: d.snapshot)
            if let u = before {
                try audit(db, userID: target, action: "linked to \(source.rawValue) user \(sid)", cause: e.cause, before: u, after: u)
            }
        } else if let snapshot = d.snapshot, link != nil {
            try db.run("""
                UPDATE links SET name = ?, email = ?, role = ?, custom_role = ?, active = ?, suspended = ?, source_updated_at = ?
                WHERE source = ? AND source_user_id = ?
                """, snapshot.name, snapshot.email, snapshot.role, snapshot.customRole, snapshot.active,
                snapshot.suspended, snapshot.updatedAt?.nanoseconds, source.rawValue, sid)
        }

        if var after = d.update, let b = before {
            if case .deferred(let runID) = mode, after.status == .deactivated, b.status != .deactivated, let uid = userID {
                try db.run("""
                    INSERT INTO deactivations (source, source_user_id, user_id, run_id, reason, state) VALUES (?, ?, ?, ?, ?, 'deferred')
                    ON CONFLICT (source, source_user_id) DO UPDATE SET user_id = excluded.user_id, run_id = excluded.run_id,
                    reason = excluded.reason, state = 'deferred'
                    """, source.rawValue, sid, uid, runID, after.reason ?? "deactivated in source")
                after.status = b.status
                after.deactivatedBy = b.deactivatedBy
                after.reason = b.reason
                after.statusBeforeDeactivation = b.statusBeforeDeactivation
                d.effects.remove(.deactivated)
                if d.effects.isEmpty { d.effects = [.unchanged] }
                d.update = after == b ? nil : after
            }
            try updateUser(db, from: b, to: after, action: Self.action(for: d.effects), cause: e.cause)
        }
        if case .seen = e.observation, !wantsDeactivation, !d.effects.contains(.stale) {
            // Seen in scope again: any deactivation an earlier run deferred or held is moot.
            try db.run("DELETE FROM deactivations WHERE source = ? AND source_user_id = ?", source.rawValue, sid)
        }
        if let c = d.conflict {
            let now = Clock.nowText()
            try db.run("""
                INSERT INTO conflicts (source, source_user_id, kind, detail, user_ids, first_seen, last_seen)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (source, source_user_id) DO UPDATE SET kind = excluded.kind, detail = excluded.detail,
                user_ids = excluded.user_ids, last_seen = excluded.last_seen
                """, source.rawValue, sid, c.kind.rawValue, c.detail, c.userIDs.map(String.init).joined(separator: ","), now, now)
        } else if d.settles {
            try db.run("DELETE FROM conflicts WHERE source = ? AND source_user_id = ?", source.rawValue, sid)
        }
        return d
    }

    static func action(for effects: Set<Decision.Effect>) -> String {
        let names = effects.subtracting([.unchanged, .linked, .created, .conflict]).map(\.rawValue).sorted()
        return names.isEmpty ? "updated" : names.joined(separator: "+")
    }

    private func insertLink(_ db: Connection, source: SourceKind, sourceUserID: String, userID: Int64, snapshot: LinkSnapshot?) throws {
        try db.run("""
            INSERT INTO links (source, source_user_id, user_id, name, email, role, custom_role, active, suspended, source_updated_at, linked_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, source.rawValue, sourceUserID, userID, snapshot?.name, snapshot?.email, snapshot?.role, snapshot?.customRole,
            snapshot?.active, snapshot?.suspended, snapshot?.updatedAt?.nanoseconds, Clock.nowText())
    }
}
