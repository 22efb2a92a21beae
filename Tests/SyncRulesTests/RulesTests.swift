import Glibc
import SyncRules
import Testing

/// Every row of SPEC §2's table, on values only (no database).
@Suite struct RulesTests {
    let zendesk = SyncSettings(source: .zendesk, scope: RoleScope(roles: ["agent", "admin", "Team Lead"]))

    func agent(_ id: String = "100", name: String = "Ann Lee", email: String? = "ann@example.com", role: String = "agent",
               active: Bool = true, suspended: Bool = false, customRole: String? = nil, at seconds: Int64 = 1000) -> SourceUser {
        SourceUser(id: id, name: name, email: email, role: role, customRoleName: customRole, active: active,
                   suspended: suspended, updatedAt: Timestamp(seconds: seconds))
    }

    func linkedView(_ local: LocalUser, snapshotAt seconds: Int64 = 1000, seatFree: Bool = true,
                    emailHolder: LocalUser? = nil) -> DirectoryView {
        let snap = LinkSnapshot(agent(at: seconds))
        return DirectoryView(link: Link(source: .zendesk, sourceUserID: "100", userID: local.id, snapshot: snap),
                             linkedUser: local, emailHolder: emailHolder, seatFree: seatFree)
    }

    /// What the webhook applier reads a user's next event against is what a decision about
    /// a linked user records: the user's snapshot, or the held one when the user is older.
    @Test func theSnapshotAfterADecisionIsTheOneItRecords() throws {
        let local = LocalUser(id: 7, name: "Ann Lee", email: "ann@example.com", status: .active)
        let view = linkedView(local, snapshotAt: 1000)
        let held = try #require(view.link?.snapshot)
        for user in [agent(name: "Ann B", at: 1000), agent(name: "Ann C", suspended: true, at: 2000), agent(name: "Old", at: 999)] {
            let decision = Rules.decide(.seen(user), view: view, settings: zendesk)
            #expect(Rules.snapshot(after: user, held: held) == (decision.snapshot ?? held), "\(user.name)")
        }
        #expect(Rules.snapshot(after: agent(name: "Old", at: 999), held: held) == held)
    }

    @Test func unlinkedUserMatchingOneLocalUserIsLinkedWithStatusUnchanged() {
        let local = LocalUser(id: 7, name: "Ann Lee", email: "ANN@example.com", status: .active)
        let view = DirectoryView(candidates: MatchCandidates(byIdentifier: [.init(user: local, linkedTo: nil)]))
        let d = Rules.decide(.seen(agent()), view: view, settings: zendesk)
        #expect(d.linkTo == 7)
        #expect(d.create == nil)
        #expect(d.update?.status ?? local.status == .active)
        #expect(d.effects.contains(.linked))
        #expect(d.snapshot != nil)
    }

    @Test func externalIDEqualToSourceIDWinsBeforeEmail() {
        let byExt = LocalUser(id: 3, name: "A", externalID: "100", status: .pending)
        let byEmail = LocalUser(id: 4, name: "B", email: "ann@example.com", status: .active)
        let view = DirectoryView(candidates: MatchCandidates(byExternalID: [.init(user: byExt, linkedTo: nil)],
                                                             byIdentifier: [.init(user: byEmail, linkedTo: nil)]))
        #expect(Rules.decide(.seen(agent()), view: view, settings: zendesk).linkTo == 3)
    }

    @Test func unlinkedUserWithoutMatchIsCreatedPendingWithSourceOrigin() {
        let d = Rules.decide(.seen(agent()), view: DirectoryView(), settings: zendesk)
        #expect(d.create == NewLocalUser(name: "Ann Lee", email: "ann@example.com", username: nil, externalID: nil,
                                         status: .pending, origin: .zendesk))
        #expect(d.effects == [.created])
    }

    @Test func twoMatchesRecordAConflictAndNoLink() {
        let a = LocalUser(id: 1, name: "A", email: "ann@example.com")
        let b = LocalUser(id: 2, name: "B", username: "ann@example.com")
        let view = DirectoryView(candidates: MatchCandidates(byIdentifier: [.init(user: a, linkedTo: nil), .init(user: b, linkedTo: nil)]))
        let d = Rules.decide(.seen(agent()), view: view, settings: zendesk)
        #expect(d.linkTo == nil && d.create == nil)
        #expect(d.conflict?.kind == .ambiguousMatch)
        #expect(d.conflict?.userIDs == [1, 2])
    }

    @Test func matchAlreadyLinkedToAnotherSourceUserIsAConflict() {
        let a = LocalUser(id: 1, name: "A", email: "ann@example.com")
        let view = DirectoryView(candidates: MatchCandidates(byIdentifier: [.init(user: a, linkedTo: "555")]))
        let d = Rules.decide(.seen(agent()), view: view, settings: zendesk)
        #expect(d.conflict?.kind == .alreadyLinked)
        #expect(d.linkTo == nil && d.create == nil)
    }

    @Test(arguments: [LocalUser.Status.pending, .active, .deactivated])
    func nameChangeUpdatesTheLocalNameInAnyStatus(status: LocalUser.Status) {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: status,
                              deactivatedBy: status == .deactivated ? .admin : nil)
        let d = Rules.decide(.seen(agent(name: "Ann Smith", at: 2000)), view: linkedView(local), settings: zendesk)
        #expect(d.update?.name == "Ann Smith")
        #expect(d.update?.status == status)
        #expect(d.effects.contains(.renamed))
    }

    @Test func emailChangeUpdatesTheLocalEmail() {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .active)
        let d = Rules.decide(.seen(agent(email: "ann.lee@example.com", at: 2000)), view: linkedView(local), settings: zendesk)
        #expect(d.update?.email == "ann.lee@example.com")
        #expect(d.effects.contains(.emailChanged))
        #expect(d.conflict == nil)
    }

    @Test func emailChangeToAnEmailAnotherLocalUserHasIsAConflict() {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .active)
        let other = LocalUser(id: 2, name: "Bob", email: "bob@example.com")
        let d = Rules.decide(.seen(agent(email: "bob@example.com", at: 2000)), view: linkedView(local, emailHolder: other),
                             settings: zendesk)
        #expect(d.update == nil)
        #expect(d.conflict?.kind == .emailTaken)
        #expect(d.conflict?.userIDs == [1, 2])
    }

    @Test func deletedDeactivatedSuspendedOrDowngradedUsersAreDeactivatedBySyncWithAReason() {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .active)
        let cases: [(Observation, String)] = [
            (.deleted(sourceUserID: "100", at: Timestamp(seconds: 2000)), "deleted in source"),
            (.seen(agent(active: false, at: 2000)), "deleted in source"),
            (.seen(agent(suspended: true, at: 2000)), "suspended in source"),
            (.seen(agent(role: "end-user", at: 2000)), "downgraded to end-user in source"),
        ]
        for (obs, reason) in cases {
            let d = Rules.decide(obs, view: linkedView(local), settings: zendesk)
            #expect(d.update?.status == .deactivated)
            #expect(d.update?.deactivatedBy == .sync)
            #expect(d.update?.reason == reason)
            #expect(d.update?.statusBeforeDeactivation == .active)
            #expect(d.effects.contains(.deactivated))
        }
    }

    @Test func movedOutOfTheSelectedCustomRolesIsDeactivation() {
        let scoped = SyncSettings(source: .zendesk, scope: RoleScope(roles: ["Team Lead"]))
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .pending)
        let d = Rules.decide(.seen(agent(customRole: "Advisor", at: 2000)), view: linkedView(local), settings: scoped)
        #expect(d.update?.status == .deactivated)
        #expect(d.update?.reason?.contains("Advisor") == true)
        #expect(Rules.decide(.seen(agent(customRole: "team lead", at: 2000)), view: linkedView(local), settings: scoped).update == nil)
    }

    @Test func linkedUserMissingFromACompleteListingIsDeactivated() {
        let local = LocalUser(id: 1, name: "Ann Lee", status: .active)
        let d = Rules.decide(.missingFromListing(sourceUserID: "100"), view: linkedView(local), settings: zendesk)
        #expect(d.update?.reason == "missing from source")
        #expect(d.update?.deactivatedBy == .sync)
        // Missing because the admin narrowed the roles: the reason says that, not "gone".
        let adminsOnly = SyncSettings(source: .zendesk, scope: RoleScope(roles: ["admin"]))
        let narrowed = Rules.decide(.missingFromListing(sourceUserID: "100"), view: linkedView(local), settings: adminsOnly)
        #expect(narrowed.update?.reason == "role 'agent' is not among the imported roles")
        #expect(narrowed.linkOut == .some("role 'agent' is not among the imported roles"))
    }

    @Test func backInScopeRestoresThePreviousStatusWhenASeatIsFree() {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .deactivated, deactivatedBy: .sync,
                              reason: "suspended in source", statusBeforeDeactivation: .active)
        let d = Rules.decide(.seen(agent(at: 2000)), view: linkedView(local, seatFree: true), settings: zendesk)
        #expect(d.update?.status == .active)
        #expect(d.update?.deactivatedBy == nil && d.update?.reason == nil)
        #expect(d.effects.contains(.restored))
    }

    @Test func backInScopeWithoutAFreeSeatBecomesPending() {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .deactivated, deactivatedBy: .sync,
                              reason: "suspended in source", statusBeforeDeactivation: .active)
        let d = Rules.decide(.seen(agent(at: 2000)), view: linkedView(local, seatFree: false), settings: zendesk)
        #expect(d.update?.status == .pending)
    }

    @Test func adminDeactivationStaysButNameAndEmailStillApply() {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .deactivated, deactivatedBy: .admin,
                              reason: "left the team")
        let d = Rules.decide(.seen(agent(name: "Ann Smith", email: "ann.s@example.com", at: 2000)), view: linkedView(local),
                             settings: zendesk)
        #expect(d.update?.status == .deactivated)
        #expect(d.update?.deactivatedBy == .admin)
        #expect(d.update?.reason == "left the team")
        #expect(d.update?.name == "Ann Smith" && d.update?.email == "ann.s@example.com")
        let deleted = Rules.decide(.deleted(sourceUserID: "100", at: nil), view: linkedView(local), settings: zendesk)
        #expect(deleted.update == nil)
    }

    @Test func olderEventThanTheLinkHoldsIsStale() {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .active)
        let d = Rules.decide(.seen(agent(name: "Old Name", at: 500)), view: linkedView(local, snapshotAt: 1000), settings: zendesk)
        #expect(d == .stale)
        let del = Rules.decide(.deleted(sourceUserID: "100", at: Timestamp(seconds: 500)), view: linkedView(local, snapshotAt: 1000),
                               settings: zendesk)
        #expect(del == .stale)
    }

    @Test func sameSnapshotAgainChangesNothing() {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .active)
        let d = Rules.decide(.seen(agent()), view: linkedView(local), settings: zendesk)
        #expect(d.update == nil && d.snapshot == nil)
        #expect(d.effects == [.unchanged])
    }

    @Test func endUsersAndOutOfScopeUnknownUsersAreNeverImported() {
        #expect(Rules.decide(.seen(agent(role: "end-user")), view: DirectoryView(), settings: zendesk) == .ignored)
        #expect(Rules.decide(.seen(agent(suspended: true)), view: DirectoryView(), settings: zendesk) == .ignored)
        let everyone = SyncSettings(source: .intercom, scope: .everyone)
        #expect(Rules.decide(.seen(agent(role: "end-user")), view: DirectoryView(), settings: everyone) == .ignored)
        #expect(Rules.decide(.seen(agent(role: "admin")), view: DirectoryView(), settings: everyone).create?.origin == .intercom)
    }

    @Test func configuredIdentifierMatchesExternalIDOrUsername() {
        let byField = SyncSettings(source: .zendesk, scope: RoleScope(roles: ["agent"]), identifier: .userField("employee_no"))
        var u = agent()
        u.userFields = ["employee_no": "E-42"]
        let q = MatchQuery(for: u, identifier: byField.identifier)
        #expect(q.externalIDEquals == nil)
        #expect(q.value == "E-42")
        #expect(q.fields == [.externalID, .username])
        let created = Rules.decide(.seen(u), view: DirectoryView(), settings: byField)
        #expect(created.create?.externalID == "E-42")
        let defaultQ = MatchQuery(for: u, identifier: .defaultMatching)
        #expect(defaultQ.externalIDEquals == "100" && defaultQ.value == "ann@example.com" && defaultQ.fields == [.email, .username])
    }

    @Test func deactivationLimitIsTenPercentAtLeastFive() {
        #expect(Rules.deactivationLimit(configured: nil, linkedUsers: 10) == 5)
        #expect(Rules.deactivationLimit(configured: nil, linkedUsers: 200) == 20)
        #expect(Rules.deactivationLimit(configured: 3, linkedUsers: 200) == 3)
    }

    @Test func activationNeedsAFreeSeatAndPendingUsersTakeNone() {
        let u = LocalUser(id: 1, name: "A", status: .pending)
        #expect(throws: AdminActions.Refusal.noSeatFree(used: 2, limit: 2)) {
            try AdminActions.activate(u, activeCount: 2, licenceLimit: 2).get()
        }
        #expect((try? AdminActions.activate(u, activeCount: 1, licenceLimit: 2).get())?.status == .active)
    }

    @Test func agentResolutionPrefersTheLink() {
        let linked = LocalUser(id: 9, name: "L")
        let other = LocalUser(id: 2, name: "O")
        let candidates = MatchCandidates(byIdentifier: [.init(user: other, linkedTo: nil)])
        #expect(AgentResolution.resolve(linked: linked, candidates: candidates) == .found(linked, via: "link"))
        #expect(AgentResolution.resolve(linked: nil, candidates: candidates) == .found(other, via: "identifier"))
        #expect(AgentResolution.resolve(linked: nil, candidates: MatchCandidates()) == .notFound)
    }
}

@Suite struct TimestampTests {
    static let samples: [(String, Int64)] = [
        ("2099-07-04T05:33:18Z", 4_086_826_398_000_000_000),
        ("2025-01-08T10:12:07.672717030Z", 1_736_331_127_672_717_030),
        ("2025-01-08T10:12:07.6Z", 1_736_331_127_600_000_000),
        ("2025-01-08T12:12:07+02:00", 1_736_331_127_000_000_000),
        ("1970-01-01T00:00:00Z", 0),
    ]

    @Test func parsesZeroToNineFractionalDigits() {
        for (text, nanos) in Self.samples {
            #expect(Timestamp(iso8601: text)?.nanoseconds == nanos, "\(text)")
        }
    }

    @Test(arguments: ["", "2025-01-08", "2025-13-01T00:00:00Z", "2025-01-08T10:12:07", "2025-01-08T10:12:07.Z", "1736331127"])
    func rejectsMalformedText(text: String) {
        #expect(Timestamp(iso8601: text) == nil)
    }

    @Test func datesBeyondTheRangeAreRefusedNotTrappedOn() {
        // Found by scripts/fuzz: year 4198 overflowed the nanosecond count.
        #expect(Timestamp(iso8601: "4198-07-04T05:33:18.123456789Z") == nil)
        #expect(Timestamp(iso8601: "2262-01-01T00:00:00Z") != nil)
    }

    @Test func roundTrips() {
        let t = Timestamp(iso8601: "2026-11-26T10:00:00.123456789Z")!
        #expect(t.iso8601 == "2026-11-26T10:00:00.123456789Z")
        #expect(Timestamp(iso8601: t.iso8601) == t)
    }

    /// The canonical text, written digit by digit, against the C library's calendar fields
    /// padded the way the text used to be built, across the range a timestamp holds.
    @Test func canonicalTextMatchesPaddedFields() {
        var rng = SystemRandomNumberGenerator()
        let edges: [Int64] = [0, 1, 1_000_000, 999_999_999, -1, -1_000_000_001, Int64.min / 2, Int64.max / 2]
        for ns in edges + (0..<2000).map({ _ in Int64.random(in: Int64.min / 2...Int64.max / 2, using: &rng) }) {
            let t = Timestamp(nanoseconds: ns)
            var secs = ns / 1_000_000_000
            var frac = ns % 1_000_000_000
            if frac < 0 { frac += 1_000_000_000; secs -= 1 }
            var clock = time_t(secs)
            var fields = tm()
            gmtime_r(&clock, &fields)
            func pad(_ v: some BinaryInteger, _ w: Int) -> String {
                String(repeating: "0", count: max(0, w - String(v).count)) + String(v)
            }
            var want = "\(pad(Int(fields.tm_year) + 1900, 4))-\(pad(fields.tm_mon + 1, 2))-\(pad(fields.tm_mday, 2))"
                + "T\(pad(fields.tm_hour, 2)):\(pad(fields.tm_min, 2)):\(pad(fields.tm_sec, 2))"
            if frac != 0 {
                var f = pad(frac, 9)
                while f.hasSuffix("0") { f.removeLast() }
                want += "." + f
            }
            #expect(t.iso8601 == want + "Z", "\(ns)")
            #expect(Timestamp(iso8601: t.iso8601) == t, "\(ns)")
        }
    }
}
