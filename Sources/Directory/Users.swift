import SyncRules

extension TenantDirectory {
    /// Local users, optionally of one status, in id order, with their links.
    public func users(status: LocalUser.Status? = nil) throws -> [UserRecord] {
        try read { db in
            let sql = "SELECT \(Self.userColumns) FROM users" + (status == nil ? "" : " WHERE status = ?") + " ORDER BY id"
            let args: [SQLBindable?] = status.map { [$0.rawValue] } ?? []
            return try db.query(sql, arguments: args) { r in
                UserRecord(user: Self.localUser(r), links: [], createdAt: r.text(10), updatedAt: r.text(11))
            }.map { rec in
                var rec = rec
                rec.links = try links(db, userID: rec.user.id)
                return rec
            }
        }
    }

    public func user(id: Int64) throws -> UserRecord? {
        try read { db in try record(db, id: id) }
    }

    func record(_ db: Connection, id: Int64) throws -> UserRecord? {
        guard var rec = try db.first("SELECT \(Self.userColumns) FROM users WHERE id = ?", id, map: { r in
            UserRecord(user: Self.localUser(r), links: [], createdAt: r.text(10), updatedAt: r.text(11))
        }) else { return nil }
        rec.links = try links(db, userID: id)
        return rec
    }

    private func links(_ db: Connection, userID: Int64) throws -> [(source: SourceKind, sourceUserID: String)] {
        try db.query("SELECT source, source_user_id FROM links WHERE user_id = ? ORDER BY source", userID) { r in
            (source: r.sourceKind(0), sourceUserID: r.text(1))
        }
    }

    /// Adds a manual local user, pending until an admin activates it.
    public func addUser(name: String, email: String?, username: String? = nil, externalID: String? = nil,
                        cause: Cause) throws -> UserRecord {
        let trimmed = name.trimmedSpaces
        guard !trimmed.isEmpty else { throw DirectoryError(tenant: tenant, .refused("name must not be empty")) }
        return try write { db in
            let u = try insertUser(db, NewLocalUser(name: trimmed, email: email.nonEmpty, username: username.nonEmpty,
                                                    externalID: externalID.nonEmpty, status: .pending, origin: .manual),
                                   cause: cause)
            return try record(db, id: u.id)!
        }
    }

    /// Activates a user; refused when no licence seat is free.
    public func activate(id: Int64, licenceLimit: Int, cause: Cause) throws -> UserRecord {
        try write { db in
            guard let user = try fetchUser(db, id: id) else { throw notFound(id) }
            switch AdminActions.activate(user, activeCount: try activeCount(db), licenceLimit: licenceLimit) {
            case .success(let after):
                try updateUser(db, from: user, to: after, action: "activated", cause: cause)
            case .failure(.alreadyActive):
                break
            case .failure(let refusal):
                throw DirectoryError(tenant: tenant, .refused("user \(id): \(refusal)"))
            }
            return try record(db, id: id)!
        }
    }

    /// Deactivates a user as an admin; sync never reverses it.
    public func deactivate(id: Int64, reason: String?, cause: Cause) throws -> UserRecord {
        try write { db in
            guard let user = try fetchUser(db, id: id) else { throw notFound(id) }
            if let after = AdminActions.deactivate(user, reason: reason) {
                try updateUser(db, from: user, to: after, action: "deactivated", cause: cause)
            }
            return try record(db, id: id)!
        }
    }

    private func notFound(_ id: Int64) -> DirectoryError {
        DirectoryError(tenant: tenant, .noSuchUser(id))
    }

    public func activeUserCount() throws -> Int { try read { db in try activeCount(db) } }

    /// Ticket agent mapping: link first, then identifier match; works with sync disabled.
    public func resolveAgent(source: SourceKind, sourceUserID: String?, email: String?,
                             identifier: PrimaryIdentifier) throws -> AgentResolution {
        try read { db in
            var linked: LocalUser?
            if let sid = sourceUserID, let link = try fetchLink(db, source: source, sourceUserID: sid) {
                linked = try fetchUser(db, id: link.userID)
            }
            var found = MatchCandidates()
            if linked == nil {
                let probe = SourceUser(id: sourceUserID ?? "", name: "", email: email, externalID: sourceUserID)
                var q = MatchQuery(for: probe, identifier: identifier)
                if q.value == nil, let email, !email.isEmpty {
                    q.value = email
                    q.fields = [.email, .username]
                }
                found = try candidates(db, q, source: source)
            }
            return AgentResolution.resolve(linked: linked, candidates: found)
        }
    }

    /// Audit rows, newest last; for one user when `userID` is given.
    public func audit(userID: Int64? = nil, limit: Int = 1000) throws -> [AuditEntry] {
        try read { db in
            let sql = "SELECT id, user_id, at, action, cause_kind, cause, before, after FROM audit"
                + (userID == nil ? "" : " WHERE user_id = ?") + " ORDER BY id DESC LIMIT ?"
            let args: [SQLBindable?] = (userID.map { [$0] } ?? []) + [limit]
            return try db.query(sql, arguments: args) { r in
                AuditEntry(id: r.int(0), userID: r.int(1), at: r.text(2), action: r.text(3), causeKind: r.text(4),
                           cause: r.text(5), before: r.optionalText(6), after: r.optionalText(7))
            }.reversed()
        }
    }

    public func conflicts() throws -> [ConflictRecord] {
        try read { db in
            try db.query("""
                SELECT source, source_user_id, kind, detail, first_seen, last_seen, user_ids FROM conflicts
                ORDER BY first_seen, source_user_id
                """) { r in
                ConflictRecord(source: r.sourceKind(0), sourceUserID: r.text(1), kind: r.text(2),
                               detail: r.text(3), firstSeen: r.text(4), lastSeen: r.text(5),
                               userIDs: r.text(6).split(separator: ",").compactMap { Int64($0) })
            }
        }
    }

    /// Counts of users by status, for `status`.
    public func statusCounts() throws -> [LocalUser.Status: Int] {
        try read { db in
            var out: [LocalUser.Status: Int] = [:]
            for (s, n) in try db.query("SELECT status, count(*) FROM users GROUP BY status", map: { ($0.text(0), Int($0.int(1))) }) {
                if let st = LocalUser.Status(rawValue: s) { out[st] = n }
            }
            return out
        }
    }
}

extension Optional where Wrapped == String {
    var nonEmpty: String? {
        guard let s = self?.trimmedSpaces, !s.isEmpty else { return nil }
        return s
    }
}

