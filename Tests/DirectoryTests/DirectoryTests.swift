import CSQLite
import Directory
import Foundation
import Synchronization
import SyncRules
import Testing

/// The rules carried out on real SQLite files in a temporary data directory.
@Suite struct DirectoryTests {
    let tmp = TempDir()
    let settings = SyncSettings(source: .zendesk, scope: RoleScope(roles: ["agent", "admin"]))

    func open() throws -> TenantDirectory { try TenantDirectory(dataDir: tmp.path, tenant: "abc-energy") }

    func agent(_ id: String, _ name: String, _ email: String?, role: String = "agent", active: Bool = true,
               suspended: Bool = false, at: Int64 = 1000) -> SourceUser {
        SourceUser(id: id, name: name, email: email, role: role, active: active, suspended: suspended, updatedAt: Timestamp(seconds: at))
    }

    @discardableResult
    func apply(_ dir: TenantDirectory, _ obs: Observation, event: String = UUID().uuidString, limit: Int = 10) throws -> Decision {
        try dir.apply([Evidence(obs, cause: .event(.zendesk, event))], settings: settings, licenceLimit: limit)[0]
    }

    @Test func createsFilesPrivatelyWithWALAndLatestSchema() throws {
        let dir = try open()
        #expect(try dir.schemaVersion() == TenantDirectory.latestSchemaVersion)
        var st = stat()
        stat(dir.path, &st)
        #expect(st.st_mode & 0o777 == 0o600)
        stat(tmp.path + "/tenants", &st)
        #expect(st.st_mode & 0o777 == 0o700)
        #expect(try dir.integrityCheck() == "ok")
    }

    /// A source's last event time is written at most once a second: a time at least a
    /// second old is replaced by the next store, a newer one is left as it is.
    @Test func lastEventTimeIsWrittenAtMostOnceASecond() throws {
        let dir = try open()
        let kind = SourceKind.zendesk
        func event(_ id: String) -> NewInboxEvent {
            NewInboxEvent(source: .zendesk, eventID: id, type: "t", sourceUserID: nil, body: Array("{}".utf8), ignored: false)
        }
        let before = Timestamp(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9) - 1_000_000).iso8601
        #expect(try dir.store([event("e1")]) == [true])
        let first = try #require(try dir.sourceState(kind).lastEventAt)
        #expect(first >= before)
        try dir.updateSourceState(kind) { s -> Void in s.lastEventAt = "2020-01-01T00:00:00.000Z" }
        #expect(try dir.store([event("e2")]) == [true])
        #expect(try #require(try dir.sourceState(kind).lastEventAt) >= before)
        // A time ahead of the clock is never a second old: the next store leaves it.
        try dir.updateSourceState(kind) { s -> Void in s.lastEventAt = "2999-01-01T00:00:00.000Z" }
        #expect(try dir.store([event("e3")]) == [true])
        #expect(try dir.sourceState(kind).lastEventAt == "2999-01-01T00:00:00.000Z")
    }

    /// `serve` and a CLI command (or two commands) may open a tenant's new database at
    /// the same moment: each brings the schema up to date, and neither may apply a
    /// migration the other applied ("table inbox already exists").
    @Test func openersRacingOnANewDatabaseEachFindTheLatestSchema() throws {
        let dataDir = tmp.path
        for round in 0..<5 {
            let tenant = "race-\(round)"
            let outcomes = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                let outcome: String
                do {
                    let dir = try TenantDirectory(dataDir: dataDir, tenant: tenant)
                    outcome = try dir.schemaVersion() == TenantDirectory.latestSchemaVersion ? "ok" : "old schema"
                } catch {
                    outcome = "\(error)"
                }
                outcomes.withLock { $0.append(outcome) }
            }
            #expect(outcomes.withLock { $0 } == Array(repeating: "ok", count: 6))
        }
    }

    @Test func importCreatesPendingUsersLinksAndAudit() throws {
        let dir = try open()
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com")))
        let users = try dir.users()
        #expect(users.count == 1)
        #expect(users[0].user.status == .pending && users[0].user.origin == .zendesk)
        #expect(users[0].links.map(\.sourceUserID) == ["1"])
        let audit = try dir.audit(userID: users[0].user.id)
        #expect(audit.map(\.action) == ["created"])
        #expect(audit[0].causeKind == "event")
    }

    @Test func matchesAManualUserByEmailCaseInsensitivelyAndKeepsItsStatus() throws {
        let dir = try open()
        let manual = try dir.addUser(name: "Ann L", email: "ANN@x.com", cause: .admin("t"))
        _ = try dir.activate(id: manual.user.id, licenceLimit: 5, cause: .admin("t"))
        try apply(dir, .seen(agent("1", "Ann Lee", "ann@x.com")))
        let u = try #require(try dir.user(id: manual.user.id))
        #expect(u.user.status == .active)
        #expect(u.links.count == 1)
        #expect(u.user.name == "Ann Lee")
        #expect(try dir.users().count == 1)
    }

    @Test func matchesByUsername() throws {
        let dir = try open()
        let manual = try dir.addUser(name: "Ann", email: "other@x.com", username: "ann@x.com", cause: .admin("t"))
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com")))
        #expect(try dir.user(id: manual.user.id)?.links.count == 1)
    }

    @Test func ambiguousMatchRecordsAConflictThatStatusShows() throws {
        let dir = try open()
        _ = try dir.addUser(name: "A", email: "ann@x.com", cause: .admin("t"))
        _ = try dir.addUser(name: "B", email: "b@x.com", username: "ann@x.com", cause: .admin("t"))
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com")))
        #expect(try dir.conflicts().map(\.kind) == ["ambiguous_match"])
        #expect(try dir.users().allSatisfy { $0.links.isEmpty })
    }

    @Test func emailChangeConflictThenResolution() throws {
        let dir = try open()
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com")))
        _ = try dir.addUser(name: "Bob", email: "bob@x.com", cause: .admin("t"))
        try apply(dir, .seen(agent("1", "Ann", "bob@x.com", at: 2000)))
        #expect(try dir.conflicts().first?.kind == "email_taken")
        #expect(try dir.users()[0].user.email == "ann@x.com")
        try apply(dir, .seen(agent("1", "Ann", "ann2@x.com", at: 3000)))
        #expect(try dir.conflicts().isEmpty)
        #expect(try dir.users()[0].user.email == "ann2@x.com")
    }

    @Test func suspendThenRestoreWithSeatAccounting() throws {
        let dir = try open()
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com")))
        let id = try dir.users()[0].user.id
        _ = try dir.activate(id: id, licenceLimit: 1, cause: .admin("t"))
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com", suspended: true, at: 2000)), limit: 1)
        var u = try #require(try dir.user(id: id)).user
        #expect(u.status == .deactivated && u.deactivatedBy == .sync && u.reason == "suspended in source")
        // The seat is taken by someone else meanwhile: restoring goes to pending.
        let other = try dir.addUser(name: "Cy", email: "cy@x.com", cause: .admin("t"))
        _ = try dir.activate(id: other.user.id, licenceLimit: 1, cause: .admin("t"))
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com", at: 3000)), limit: 1)
        u = try #require(try dir.user(id: id)).user
        #expect(u.status == .pending)
        #expect(throws: DirectoryError.self) { try dir.activate(id: id, licenceLimit: 1, cause: .admin("t")) }
    }

    /// The batch counts active users once and keeps the count as it restores: two users
    /// returning in one batch with one seat free get one seat between them.
    @Test func restoresInOneBatchShareTheFreeSeats() throws {
        let dir = try open()
        for i in 1...3 { try apply(dir, .seen(agent(String(i), "U\(i)", "u\(i)@x.com"))) }
        for u in try dir.users() { _ = try dir.activate(id: u.user.id, licenceLimit: 3, cause: .admin("t")) }
        for i in 1...3 { try apply(dir, .seen(agent(String(i), "U\(i)", "u\(i)@x.com", suspended: true, at: 2000)), limit: 3) }
        #expect(try dir.users(status: .deactivated).count == 3)
        let back = (1...3).map { Evidence(.seen(agent(String($0), "U\($0)", "u\($0)@x.com", at: 3000)), cause: .run(1)) }
        _ = try dir.apply(back, settings: settings, licenceLimit: 2)
        #expect(try dir.users(status: .active).map(\.user.name) == ["U1", "U2"])
        #expect(try dir.users(status: .pending).map(\.user.name) == ["U3"])
    }

    @Test func adminDeactivationIsNeverOverriddenBySync() throws {
        let dir = try open()
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com")))
        let id = try dir.users()[0].user.id
        _ = try dir.deactivate(id: id, reason: "left", cause: .admin("t"))
        try apply(dir, .seen(agent("1", "Ann Smith", "ann@x.com", at: 2000)))
        let u = try #require(try dir.user(id: id)).user
        #expect(u.status == .deactivated && u.deactivatedBy == .admin && u.reason == "left" && u.name == "Ann Smith")
    }

    @Test func duplicateAndStaleEvidenceChangeNothing() throws {
        let dir = try open()
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com", at: 2000)))
        let auditBefore = try dir.audit().count
        #expect(try apply(dir, .seen(agent("1", "Ann", "ann@x.com", at: 2000))).effects == [.unchanged])
        #expect(try apply(dir, .seen(agent("1", "Old", "ann@x.com", at: 1000))).effects == [.stale])
        #expect(try dir.audit().count == auditBefore)
        #expect(try dir.users()[0].user.name == "Ann")
    }

    /// The events a batch settles are marked in its own transaction: applied, or ignored
    /// when the rules found their evidence stale (SPEC §2).
    @Test func settledEventsAreMarkedAppliedOrIgnoredAsStaleWithTheBatch() throws {
        let dir = try open()
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com", at: 2000)))
        let stored = try dir.store(["new", "old"].map {
            NewInboxEvent(source: .zendesk, eventID: $0, type: "t", sourceUserID: "1", body: Array("{}".utf8), ignored: false)
        })
        #expect(stored == [true, true])
        let open = try dir.openEvents(source: .zendesk, limit: 10, now: 0)
        let evidence = [agent("1", "Ann Smith", "ann@x.com", at: 3000), agent("1", "Old", "ann@x.com", at: 1000)]
            .map { Evidence(.seen($0), cause: .event(.zendesk, "e")) }
        let decisions = try dir.apply(evidence, settings: settings, licenceLimit: 10, completing: open.map { [$0.seq] })
        #expect(decisions.map { $0.effects.contains(.stale) } == [false, true])
        let settled = try dir.events()
        #expect(settled.first { $0.eventID == "new" }?.status == .applied)
        let stale = settled.first { $0.eventID == "old" }
        #expect(stale?.status == .ignored && stale?.lastError == "stale: older than what the link holds")
    }

    @Test func fullRunDefersDeactivationsAndTheGuardHoldsAMassDeactivation() throws {
        let dir = try open()
        for i in 1...20 { try apply(dir, .seen(agent(String(i), "U\(i)", "u\(i)@x.com"))) }
        // A complete run that sees only 10 of 20: 10 missing > limit 5.
        let start = try dir.startFullRun(source: .zendesk, owner: "test")
        let run = start.runID
        _ = try dir.apply((1...10).map { Evidence(.seen(agent(String($0), "U\($0)", "u\($0)@x.com")), cause: .run(run)) },
                          settings: settings, licenceLimit: 10, mode: .deferred(runID: run))
        var missing: [String] = []
        var after = ""
        while true {
            let page = try dir.missingFromListing(start, source: .zendesk, after: after, limit: 3)
            if page.isEmpty { break }
            missing += page
            after = page.last!
        }
        #expect(missing.count == 10)
        _ = try dir.apply(missing.map { Evidence(.missingFromListing(sourceUserID: $0), cause: .run(run)) },
                          settings: settings, licenceLimit: 10, mode: .deferred(runID: run))
        #expect(try dir.users(status: .deactivated).isEmpty)
        let result = try dir.settleDeactivations(runID: run, source: .zendesk, limit: 5, confirm: false)
        #expect(result.held == 10 && result.applied == 0)
        #expect(try dir.heldDeactivations().count == 10)
        #expect(try dir.users(status: .deactivated).isEmpty)
        #expect(try dir.confirmHeldDeactivations(source: .zendesk, cause: .admin("ops")) == 10)
        let gone = try dir.users(status: .deactivated)
        #expect(gone.count == 10 && gone.allSatisfy { $0.user.reason == "missing from source" })
    }

    @Test func failedRunDeactivatesNobody() throws {
        let dir = try open()
        try apply(dir, .seen(agent("1", "Ann", "ann@x.com")))
        let run = try dir.startFullRun(source: .zendesk, owner: "test").runID
        _ = try dir.apply([Evidence(.seen(agent("1", "Ann", "ann@x.com", suspended: true, at: 2000)), cause: .run(run))],
                          settings: settings, licenceLimit: 10, mode: .deferred(runID: run))
        try dir.recordRun(run, pages: 1, counts: SyncCounts(), outcome: .failed, error: "page 2: HTTP 500")
        #expect(try dir.users()[0].user.status == .pending)
        #expect(try dir.runs().first?.outcome == .failed)
    }

    @Test func agentResolutionWorksWithoutSync() throws {
        let dir = try open()
        let manual = try dir.addUser(name: "Ann", email: "Ann@x.com", cause: .admin("t"))
        #expect(try dir.resolveAgent(source: .zendesk, sourceUserID: "77", email: "ann@x.com", identifier: .defaultMatching)
                == .found(manual.user, via: "identifier"))
        try apply(dir, .seen(agent("77", "Ann", "ann@x.com")))
        let resolution = try dir.resolveAgent(source: .zendesk, sourceUserID: "77", email: nil, identifier: .defaultMatching)
        if case .found(let u, let via) = resolution {
            #expect(u.id == manual.user.id && via == "link")
        } else {
            Issue.record("not found")
        }
    }

    @Test func manualUserUniquenessIsExplained() throws {
        let dir = try open()
        _ = try dir.addUser(name: "Ann", email: "ann@x.com", cause: .admin("t"))
        #expect {
            try dir.addUser(name: "Ann 2", email: "ANN@x.com", cause: .admin("t"))
        } throws: { ($0 as? DirectoryError)?.message.contains("already used by local user 1") == true }
    }

    /// A batch's new users are written together (`Creations`), in statements of 64, 32, …
    /// rows, and written early whenever a user needs to read the store: the outcome must
    /// be the one applying each user alone gives, ids, links and audit rows included. Three
    /// manual users are matched by each identifier column the batch's up-front lookup reads.
    @Test func aBatchOfNewUsersEndsAsApplyingThemOneByOneDoes() throws {
        func listing() -> [SourceUser] {
            (1...150).map { n in
                let email = n == 70 ? "MIA@x.com" : n == 100 ? "a10@x.com" : "a\(n)@x.com"
                return agent("s\(n)", "Agent \(n)", email, at: 1000 + Int64(n))
            }
        }
        func state(_ dir: TenantDirectory) throws -> [String] {
            let users = try dir.users().map { r in
                "\(r.user.id) \(r.user.name) \(r.user.email ?? "-") \(r.user.status) \(r.links.map(\.sourceUserID))"
            }
            let audit = try dir.audit(limit: 10_000).reversed().map { "\($0.userID) \($0.action) \($0.after ?? "-")" }
            return users + audit + (try dir.conflicts().map { "\($0.sourceUserID) \($0.kind)" })
        }
        let together = try TenantDirectory(dataDir: tmp.path, tenant: "together")
        let alone = try TenantDirectory(dataDir: tmp.path, tenant: "alone")
        for dir in [together, alone] {
            _ = try dir.addUser(name: "Mia", email: "mia@x.com", cause: .admin("t"))
            _ = try dir.addUser(name: "Kai", email: "kai@x.com", username: "A120@x.com", cause: .admin("t"))
            _ = try dir.addUser(name: "Lee", email: "lee@x.com", externalID: "s130", cause: .admin("t"))
        }
        let batch = listing().map { Evidence(.seen($0), cause: .run(1)) }
        let decisions = try together.apply(batch, settings: settings, licenceLimit: 1000)
        for e in batch { _ = try alone.apply([e], settings: settings, licenceLimit: 1000) }
        #expect(decisions.filter { $0.create != nil }.count == 146)
        let expected = try state(alone)
        #expect(try state(together) == expected)
        #expect(try together.users().count == 149, "3 manual, 146 created; s100's email is s10's")
        #expect(try [1, 2, 3].map { try together.user(id: $0)?.links.map(\.sourceUserID) } == [["s70"], ["s120"], ["s130"]],
                "by email, by username, by external id")
        #expect(try together.conflicts().map { "\($0.sourceUserID) \($0.kind)" } == ["s100 already_linked"])
        #expect(try together.integrityCheck() == "ok")
    }
}

/// Re-applying the same snapshots twice and in shuffled order ends in the same directory.
@Suite struct IdempotenceTests {
    let settings = SyncSettings(source: .zendesk, scope: RoleScope(roles: ["agent"]))

    func history() -> [Observation] {
        var out: [Observation] = []
        for i in 0..<30 {
            let id = String(i % 6)
            let t = Int64(1000 + i)
            let u = SourceUser(id: id, name: "User \(id) v\(i)", email: "u\(id)-\(i / 10)@x.com", role: i % 7 == 3 ? "end-user" : "agent",
                               suspended: i % 11 == 5, updatedAt: Timestamp(seconds: t))
            out.append(.seen(u))
        }
        return out
    }

    func finalState(_ observations: [Observation]) throws -> [String] {
        let tmp = TempDir()
        let dir = try TenantDirectory(dataDir: tmp.path, tenant: "t")
        for (i, o) in observations.enumerated() {
            _ = try dir.apply([Evidence(o, cause: .event(.zendesk, "e\(i)"))], settings: settings, licenceLimit: 100)
        }
        return try dir.users().map { r in
            "\(r.links.map(\.sourceUserID))|\(r.user.name)|\(r.user.email ?? "")|\(r.user.status)|\(r.user.reason ?? "")"
        }.sorted()
    }

    @Test func sameEndStateTwiceAndShuffled() throws {
        let h = history()
        let once = try finalState(h)
        #expect(try finalState(h + h) == once)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3 {
            // Once a user is linked, evidence in any order converges on the newest snapshot. (Evidence
            // about a user that was never in scope is not kept, so each user's first in-scope
            // snapshot goes first; reconciliation repairs the rest.)
            var firsts: [String: Observation] = [:]
            for o in h where firsts[o.sourceUserID] == nil {
                if case .seen(let u) = o, settings.scope.exclusion(of: u) == nil { firsts[u.id] = o }
            }
            let shuffled = firsts.values.sorted { $0.sourceUserID < $1.sourceUserID } + h.shuffled(using: &rng)
            let got = try finalState(shuffled)
            #expect(got == once, "\(got) vs \(once)")
        }
    }
}

/// A database created by schema version 1 opens with the current code, keeping its rows.
@Suite struct MigrationTests {
    /// `TENANTS/old.sqlite` as schema version 1 left it (Fixtures/schema-v1.sql).
    @discardableResult
    func versionOneDatabase(in tmp: TempDir) throws -> String {
        try FileManager.default.createDirectory(atPath: tmp.path + "/tenants", withIntermediateDirectories: true)
        let path = tmp.path + "/tenants/old.sqlite"
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        let fixture = #filePath.replacingOccurrences(of: "DirectoryTests.swift", with: "Fixtures/schema-v1.sql")
        #expect(sqlite3_exec(db, try String(contentsOfFile: fixture, encoding: .utf8), nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)
        return path
    }

    @Test func upgradesAVersionOneDatabase() throws {
        let tmp = TempDir()
        try versionOneDatabase(in: tmp)

        let dir = try TenantDirectory(dataDir: tmp.path, tenant: "old")
        #expect(try dir.schemaVersion() == TenantDirectory.latestSchemaVersion)
        let users = try dir.users()
        #expect(users.map(\.user.name) == ["Legacy Ann"])
        #expect(users[0].links.map(\.sourceUserID) == ["42"])
        #expect(try dir.events().isEmpty)
        #expect(try dir.runs().isEmpty)
        #expect(try dir.audit(userID: 1).map(\.action) == ["created"])
    }

    /// Version 8 rebuilds `users` (which links reference, ON DELETE CASCADE) and `audit`:
    /// links and audit rows survive, and the checks and foreign keys still hold after it.
    @Test func rebuildingUsersKeepsLinksChecksAndForeignKeys() throws {
        let tmp = TempDir()
        let path = try versionOneDatabase(in: tmp)
        var db: OpaquePointer?
        _ = try TenantDirectory(dataDir: tmp.path, tenant: "old")

        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        defer { sqlite3_close(db) }
        func exec(_ sql: String) -> Int32 { sqlite3_exec(db, sql, nil, nil, nil) }
        func count(_ sql: String) -> Int64 {
            var st: OpaquePointer?
            sqlite3_prepare_v2(db, sql, -1, &st, nil)
            defer { sqlite3_finalize(st) }
            return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1
        }
        #expect(count("SELECT count(*) FROM links WHERE user_id = 1") == 1)
        #expect(count("SELECT count(*) FROM audit WHERE user_id = 1") == 1)
        #expect(count("SELECT count(*) FROM sqlite_schema WHERE name = 'users_status'") == 0)
        #expect(exec("PRAGMA foreign_keys = ON") == SQLITE_OK)
        #expect(exec("UPDATE users SET status = 'asleep' WHERE id = 1") == SQLITE_CONSTRAINT)
        #expect(exec("UPDATE users SET origin = 'okta' WHERE id = 1") == SQLITE_CONSTRAINT)
        #expect(exec("INSERT INTO audit (user_id, at, action, cause_kind, cause) VALUES (1, 'x', 'y', 'cron', 'z')") == SQLITE_CONSTRAINT)
        let orphan = "INSERT INTO links (source, source_user_id, user_id, linked_at) VALUES ('zendesk', '7', 99, 'x')"
        #expect(exec(orphan) == SQLITE_CONSTRAINT)
        #expect(exec("DELETE FROM users WHERE id = 1") == SQLITE_OK)
        #expect(count("SELECT count(*) FROM links") == 0)
    }

    /// Events stored before version 11 keep their bodies in their rows, and later ones are
    /// read from `inbox_bodies`: a directory is taken back to version 10 (bodies in the
    /// inbox rows) and opened again.
    @Test func eventsStoredBeforeVersion11KeepTheirBodies() throws {
        let tmp = TempDir()
        let bodies = [#"{"id":"e1"}"#, #"{"id":"e2","x":"Zoë"}"#]
        do {
            let dir = try TenantDirectory(dataDir: tmp.path, tenant: "old")
            let events = bodies.enumerated().map { i, b in
                NewInboxEvent(source: .zendesk, eventID: "e\(i + 1)", type: "t", sourceUserID: nil, body: Array(b.utf8), ignored: false)
            }
            #expect(try dir.store(events) == [true, true])
        }
        var db: OpaquePointer?
        #expect(sqlite3_open(tmp.path + "/tenants/old.sqlite", &db) == SQLITE_OK)
        for sql in ["UPDATE inbox SET body = (SELECT body FROM inbox_bodies b WHERE b.seq = inbox.seq)",
                    "DROP TABLE inbox_bodies", "DELETE FROM schema_migrations WHERE version = 11"] {
            #expect(sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK, "\(sql)")
        }
        sqlite3_close(db)
        let dir = try TenantDirectory(dataDir: tmp.path, tenant: "old")
        #expect(try dir.schemaVersion() == TenantDirectory.latestSchemaVersion)
        let later = #"{"id":"e3"}"#
        let third = NewInboxEvent(source: .zendesk, eventID: "e3", type: "t", sourceUserID: nil, body: Array(later.utf8), ignored: false)
        #expect(try dir.store([third]) == [true])
        #expect(try dir.events().reversed().map { String(decoding: $0.body, as: UTF8.self) } == bodies + [later])
        let open = try dir.openEvents(source: .zendesk, limit: 10, now: 0)
        #expect(open.map { String(decoding: $0.body, as: UTF8.self) } == bodies + [later])
        #expect(try dir.pruneInbox(settledBefore: "9999") == 0)
        try dir.markApplied(open.map(\.seq))
        #expect(try dir.pruneInbox(settledBefore: "9999") == 3)
        #expect(try dir.events().isEmpty)
    }

    /// Version 9 rebuilds `inbox`: its check still refuses an unknown status, and the
    /// partial indexes the applier and the pruner read through are back. Version 11 moves
    /// bodies to `inbox_bodies`, whose rows go with their event.
    @Test func rebuildingTheInboxKeepsItsCheckAndIndexes() throws {
        let tmp = TempDir()
        let path = try versionOneDatabase(in: tmp)
        _ = try TenantDirectory(dataDir: tmp.path, tenant: "old")
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        defer { sqlite3_close(db) }
        func exec(_ sql: String) -> Int32 { sqlite3_exec(db, sql, nil, nil, nil) }
        let insert = "INSERT INTO inbox (source, event_id, type, received_at, body, status) VALUES ('zendesk', 'e1', 't', 'x', x'', "
        #expect(exec(insert + "'pending')") == SQLITE_OK)
        #expect(exec(insert + "'pending')") == SQLITE_CONSTRAINT)
        #expect(exec("UPDATE inbox SET status = 'lost'") == SQLITE_CONSTRAINT)
        #expect(exec("UPDATE inbox SET status = 'ignored'") == SQLITE_OK)
        #expect(exec("PRAGMA foreign_keys = ON") == SQLITE_OK)
        #expect(exec("INSERT INTO inbox_bodies (seq, body) VALUES (99, x'7b7d')") == SQLITE_CONSTRAINT)
        #expect(exec("INSERT INTO inbox_bodies (seq, body) SELECT seq, x'7b7d' FROM inbox") == SQLITE_OK)
        #expect(exec("DELETE FROM inbox") == SQLITE_OK)
        var left: OpaquePointer?
        sqlite3_prepare_v2(db, "SELECT count(*) FROM inbox_bodies", -1, &left, nil)
        defer { sqlite3_finalize(left) }
        #expect(sqlite3_step(left) == SQLITE_ROW && sqlite3_column_int(left, 0) == 0)
        var st: OpaquePointer?
        sqlite3_prepare_v2(db, "SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema WHERE tbl_name = 'inbox' "
                           + "AND type = 'index' AND sql IS NOT NULL ORDER BY name)", -1, &st, nil)
        defer { sqlite3_finalize(st) }
        #expect(sqlite3_step(st) == SQLITE_ROW)
        #expect(String(cString: sqlite3_column_text(st, 0)) == "inbox_failed,inbox_open,inbox_settled")
    }

}
