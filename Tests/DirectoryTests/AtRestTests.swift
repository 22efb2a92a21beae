import CSQLite
import Directory
import Foundation
import SyncRules
import Testing

/// A full run skips a source user whose link last applied the same input and was left
/// with nothing to do. These tests hold it to "the same outcome as applying every user":
/// whatever changed on the local side or in the settings since, the user is applied again.
@Suite struct AtRestTests {
    let tmp = TempDir()
    let agents = SyncSettings(source: .zendesk, scope: RoleScope(roles: ["agent", "admin"]))

    func open() throws -> TenantDirectory { try TenantDirectory(dataDir: tmp.path, tenant: "abc-energy") }

    func agent(_ id: String, _ name: String, _ email: String?, role: String = "agent", suspended: Bool = false,
               at: Int64 = 1000) -> SourceUser {
        SourceUser(id: id, name: name, email: email, role: role, suspended: suspended, updatedAt: Timestamp(seconds: at))
    }

    /// One complete full run over `listing`, deactivations confirmed; its decisions in order.
    @discardableResult
    func fullRun(_ dir: TenantDirectory, _ listing: [SourceUser], settings: SyncSettings? = nil) throws -> [Decision] {
        let settings = settings ?? agents
        let start = try dir.startFullRun(source: settings.source, owner: "test")
        let out = try dir.apply(listing.map { Evidence(.seen($0), cause: .run(start.runID)) }, settings: settings,
                                licenceLimit: 10, mode: .deferred(runID: start.runID))
        let missing = try dir.missingFromListing(start, source: settings.source, after: "")
        _ = try dir.apply(missing.map { Evidence(.missingFromListing(sourceUserID: $0), cause: .run(start.runID)) },
                          settings: settings, licenceLimit: 10, mode: .deferred(runID: start.runID))
        _ = try dir.settleDeactivations(runID: start.runID, source: settings.source, limit: 100, confirm: true)
        try dir.recordRun(start.runID, pages: 1, counts: SyncCounts(), outcome: .completed)
        return out
    }

    /// What each link of `source` records as applied, by source user id ("-" for nothing).
    func applied(_ dir: TenantDirectory, _ source: SourceKind = .zendesk) throws -> [String: String] {
        try sql(dir, "SELECT source_user_id, coalesce(applied, '-') FROM links WHERE source = '\(source.rawValue)'")
    }

    /// Writes as any other path to the file would, through a connection of its own.
    func exec(_ dir: TenantDirectory, _ text: String) throws {
        var db: OpaquePointer?
        guard sqlite3_open(dir.path, &db) == SQLITE_OK else { throw CocoaError(.fileReadUnknown) }
        defer { sqlite3_close(db) }
        guard sqlite3_exec(db, text, nil, nil, nil) == SQLITE_OK else { throw CocoaError(.fileWriteUnknown) }
    }

    func sql(_ dir: TenantDirectory, _ text: String) throws -> [String: String] {
        var db: OpaquePointer?
        guard sqlite3_open(dir.path, &db) == SQLITE_OK else { throw CocoaError(.fileReadUnknown) }
        defer { sqlite3_close(db) }
        var st: OpaquePointer?
        guard sqlite3_prepare_v2(db, text, -1, &st, nil) == SQLITE_OK else { throw CocoaError(.fileReadCorruptFile) }
        defer { sqlite3_finalize(st) }
        var out: [String: String] = [:]
        while sqlite3_step(st) == SQLITE_ROW, sqlite3_column_count(st) == 2 {
            out[String(cString: sqlite3_column_text(st, 0))] = String(cString: sqlite3_column_text(st, 1))
        }
        return out
    }

    let listing = [("1", "Ann", "ann@x.com"), ("2", "Bob", "bob@x.com"), ("3", "Cy", "cy@x.com")]
    var users: [SourceUser] { listing.map { agent($0.0, $0.1, $0.2) } }

    @Test func aFirstImportRecordsWhatEachLinkAppliedAndANoChangeRunKeepsIt() throws {
        let dir = try open()
        #expect(try fullRun(dir, users).allSatisfy { $0.effects == [.created] })
        let first = try applied(dir)
        #expect(first.count == 3 && first.values.allSatisfy { $0 != "-" })
        let audit = try dir.audit().count
        #expect(try fullRun(dir, users).allSatisfy { $0.effects == [.unchanged] })
        #expect(try applied(dir) == first)
        #expect(try dir.audit().count == audit)
    }

    @Test func anyChangeToTheUserOrItsLinksClearsWhatItsLinksApplied() throws {
        let dir = try open()
        try fullRun(dir, users)
        let ids = try dir.users().map(\.user.id)
        _ = try dir.deactivate(id: ids[0], reason: "left", cause: .admin("t"))
        #expect(try applied(dir)["1"] == "-")
        #expect(try applied(dir)["2"] != "-")
        try exec(dir, "UPDATE links SET out_reason = 'x' WHERE source_user_id = '2'")
        #expect(try applied(dir)["2"] == "-")
        // Another desk's link of the same user: this desk's record was judged without it.
        try exec(dir, """
            INSERT INTO links (source, source_user_id, user_id, linked_at) VALUES ('intercom', 'i3', \(ids[2]), 'x');
            UPDATE links SET out_reason = 'removed' WHERE source = 'intercom'
            """)
        #expect(try applied(dir)["3"] == "-")
        // The next run applies them again and records them again.
        try fullRun(dir, users)
        #expect(try applied(dir).values.allSatisfy { $0 != "-" })
        try exec(dir, "DELETE FROM links WHERE source = 'intercom'")
        #expect(try applied(dir)["3"] == "-")
    }

    @Test func aUserAnAdminChangedIsAppliedAgainThoughTheSourceDidNotChange() throws {
        let dir = try open()
        let suspended = [agent("1", "Ann", "ann@x.com", suspended: true)] + users.dropFirst()
        try fullRun(dir, users)
        try fullRun(dir, suspended)
        let ann = try #require(try dir.users().first { $0.user.name == "Ann" }).user
        #expect(ann.status == .deactivated && ann.reason == "suspended in source")
        // Deactivated, and the listing says so again: nothing left to do, and recorded.
        try fullRun(dir, suspended)
        #expect(try applied(dir)["1"] != "-")
        // An admin lets Ann back in while Zendesk still suspends her: the next run, seeing
        // exactly the listing it saw last time, takes her out again.
        _ = try dir.activate(id: ann.id, licenceLimit: 10, cause: .admin("t"))
        let again = try fullRun(dir, suspended)
        #expect(again[0].effects.isEmpty, "deferred to the run's end and counted when settled, not as unchanged")
        let after = try #require(try dir.user(id: ann.id)).user
        #expect(after.status == .deactivated && after.deactivatedBy == .sync && after.reason == "suspended in source")
    }

    @Test func changedSettingsApplyEveryUserAgain() throws {
        let dir = try open()
        try fullRun(dir, users)
        let adminsOnly = SyncSettings(source: .zendesk, scope: RoleScope(roles: ["admin"]))
        try fullRun(dir, users, settings: adminsOnly)
        #expect(try dir.users(status: .deactivated).count == 3)
        #expect(try dir.users(status: .deactivated).allSatisfy { $0.user.reason == "role 'agent' is not among the imported roles" })
    }

    @Test func aConflictThatCameAndWentIsSettledByTheNextRun() throws {
        let dir = try open()
        try fullRun(dir, users)
        // The same updated_at, as a source without one would give: not stale, so applied.
        let taken = [users[0], agent("2", "Bob", "ann@x.com"), users[2]]
        try fullRun(dir, taken)
        #expect(try dir.conflicts().map(\.kind) == [Conflict.Kind.emailTaken.rawValue])
        #expect(try applied(dir)["2"] == "-", "a conflict leaves nothing recorded")
        // Bob's listing goes back to exactly what the first run recorded as applied.
        try fullRun(dir, users)
        #expect(try dir.conflicts().isEmpty)
    }

    /// The missing check merges the links and the seen set in SQLite's BINARY order, where
    /// "10" sorts before "9": ids of every length and position come out right, a page at a time.
    @Test func missingUsersAreFoundWhateverTheirIdsLengths() throws {
        let dir = try open()
        let ids = ["1", "10", "100", "2", "20", "3", "9", "99", "a", "ab", "b"]
        try fullRun(dir, ids.map { agent($0, "U\($0)", "u\($0)@x.com") })
        let seen = ["10", "2", "9", "ab"]
        let start = try dir.startFullRun(source: .zendesk, owner: "test")
        _ = try dir.apply(seen.map { Evidence(.seen(agent($0, "U\($0)", "u\($0)@x.com")), cause: .run(start.runID)) },
                          settings: agents, licenceLimit: 20, mode: .deferred(runID: start.runID))
        var missing: [String] = []
        var after = ""
        while true {
            let page = try dir.missingFromListing(start, source: .zendesk, after: after, limit: 2)
            guard let last = page.last else { break }
            missing += page
            after = last
        }
        #expect(missing == ["1", "100", "20", "3", "99", "a", "b"])
    }

    /// Whether a batch's links are read as one range (a contiguous run of ids) or one by one
    /// (a range holding many other links), each user is recognised as what it applied.
    @Test func batchesContiguousOrScatteredAreRecognisedAlike() throws {
        let dir = try open()
        let all = (1...300).map { agent(String($0), "U\($0)", "u\($0)@x.com") }
        try fullRun(dir, all)
        let audit = try dir.audit().count
        for batch in [Array(all[99..<120]), [all[0], all[298], all[149]], [all[5], all[5]]] {
            let start = try dir.startFullRun(source: .zendesk, owner: "test")
            let changed = SourceUser(id: batch[0].id, name: "Renamed", email: batch[0].email, updatedAt: Timestamp(seconds: 2000))
            let decisions = try dir.apply((batch + [changed]).map { Evidence(.seen($0), cause: .run(start.runID)) },
                                          settings: agents, licenceLimit: 400, mode: .deferred(runID: start.runID))
            #expect(decisions.dropLast().allSatisfy { $0.effects == [.unchanged] })
            #expect(decisions.last?.effects == [.renamed])
            try dir.recordRun(start.runID, pages: 1, counts: SyncCounts(), outcome: .failed)
            try fullRun(dir, all)
        }
        #expect(try dir.audit().count == audit + 3, "three renames; the full runs after them are older, so stale")
    }

    /// A run that ends clears only its own seen marks: another desk's run under way at
    /// the same time still knows whom its listing returned.
    @Test func aRunEndingKeepsTheSeenMarksOfAnotherDesksRun() throws {
        let dir = try open()
        let teammates = SyncSettings(source: .intercom, scope: .everyone)
        let admins = [SourceUser(id: "i1", name: "Ian", email: "ian@x.com", role: "admin"),
                      SourceUser(id: "i2", name: "Ida", email: "ida@x.com", role: "admin")]
        try fullRun(dir, users)
        try fullRun(dir, admins, settings: teammates)
        let intercom = try dir.startFullRun(source: .intercom, owner: "test")
        _ = try dir.apply(admins.map { Evidence(.seen($0), cause: .run(intercom.runID)) }, settings: teammates,
                          licenceLimit: 10, mode: .deferred(runID: intercom.runID))
        try fullRun(dir, users)
        #expect(try dir.missingFromListing(intercom, source: .intercom, after: "").isEmpty)
    }

    /// A link the unlinked rules just made is recorded only when the linked rules would
    /// leave it so: a user linked while sync had deactivated it is restored by the next run.
    @Test func aUserLinkedWhileDeactivatedBySyncIsRestoredByTheNextRun() throws {
        let dir = try open()
        let teammates = SyncSettings(source: .intercom, scope: .everyone)
        try fullRun(dir, [SourceUser(id: "i1", name: "Ann", email: "ann@x.com", role: "admin")], settings: teammates)
        try fullRun(dir, [], settings: teammates)
        #expect(try dir.users(status: .deactivated).map(\.user.reason) == ["missing from source"])
        let first = try fullRun(dir, [agent("1", "Ann", "ann@x.com")])
        #expect(first[0].effects.contains(.linked))
        #expect(try applied(dir)["1"] == "-", "linked while deactivated: not at rest")
        let second = try fullRun(dir, [agent("1", "Ann", "ann@x.com")])
        #expect(second[0].effects.contains(.restored))
        #expect(try dir.users(status: .deactivated).isEmpty)
        #expect(try applied(dir)["1"] != "-")
    }

    /// A user in two desks whom one desk removed keeps that desk's stronger reason when its
    /// next run no longer lists them, and is deactivated with both desks' reasons once the
    /// other desk drops them too.
    @Test func aWeakerReasonNeverReplacesAStrongerOneOnALink() throws {
        let dir = try open()
        let teammates = SyncSettings(source: .intercom, scope: .everyone)
        try fullRun(dir, users)
        try fullRun(dir, [SourceUser(id: "i1", name: "Ann", email: "ann@x.com", role: "admin")], settings: teammates)
        let removed = Observation.removed(sourceUserID: "i1", at: Timestamp(seconds: 3000), reason: "removed from workspace in source")
        _ = try dir.apply([Evidence(removed, cause: .event(.intercom, "e1"))], settings: teammates, licenceLimit: 10)
        try fullRun(dir, [], settings: teammates)
        try fullRun(dir, [agent("1", "Ann", "ann@x.com", suspended: true)] + users.dropFirst())
        let ann = try #require(try dir.users().first { $0.user.name == "Ann" }).user
        #expect(ann.status == .deactivated)
        #expect(ann.reason == "intercom: removed from workspace in source; zendesk: suspended in source", "\(ann.reason ?? "")")
    }

    /// The same for a created user whose source name carries spaces the linked rules trim.
    @Test func aCreatedNameIsTrimmedByTheNextRun() throws {
        let dir = try open()
        try fullRun(dir, [agent("1", "Ann ", "ann@x.com")])
        try fullRun(dir, [agent("1", "Ann ", "ann@x.com")])
        #expect(try dir.users().map(\.user.name) == ["Ann"])
        #expect(try applied(dir)["1"] != "-")
    }

    @Test func linkingAUserOfAnotherDeskClearsWhatItsLinksApplied() throws {
        let dir = try open()
        try fullRun(dir, users)
        let teammates = SyncSettings(source: .intercom, scope: .everyone)
        try fullRun(dir, [SourceUser(id: "i1", name: "Ann", email: "ann@x.com", role: "admin")], settings: teammates)
        #expect(try dir.users().count == 3, "matched by email, not created")
        #expect(try applied(dir)["1"] == "-")
        #expect(try applied(dir, .intercom)["i1"] != "-")
        #expect(try applied(dir)["2"] != "-")
    }
}
