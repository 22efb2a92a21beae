import SyncRules
import Testing

/// What a full run records as applied: the same input gives the same digest in any
/// process, and each thing the rules read changes it.
@Suite struct FingerprintTests {
    let settings = SyncSettings(source: .zendesk, scope: RoleScope(roles: ["agent", "admin"]))
    let ann = SourceUser(id: "1", name: "Ann", email: "ann@x.com", role: "agent", customRoleID: "7", customRoleName: "Lead",
                         externalID: "e1", userFields: ["team": "north", "site": "a"], updatedAt: Timestamp(seconds: 1000))

    @Test func theSameInputGivesTheSameDigestInEveryProcess() {
        #expect(Fingerprint(settings).of(ann) == Fingerprint(settings).of(ann))
        // Fixed, so a change of algorithm is deliberate: it makes every next run apply everyone.
        #expect(Fingerprint(settings).of(SourceUser(id: "1", name: "Ann")) == Self.annAlone)
        var reordered = ann
        reordered.userFields = [:]
        reordered.userFields["site"] = "a"
        reordered.userFields["team"] = "north"
        #expect(Fingerprint(settings).of(reordered) == Fingerprint(settings).of(ann))
    }

    static let annAlone: Int64 = -6_467_954_667_974_761_930

    @Test func everyFieldTheRulesReadChangesIt() {
        let base = Fingerprint(settings).of(ann)
        let changes: [(inout SourceUser) -> Void] = [
            { $0.id = "2" }, { $0.name = "Anne" }, { $0.email = nil }, { $0.email = "ann@y.com" }, { $0.role = "admin" },
            { $0.customRoleID = nil }, { $0.customRoleName = "Team Lead" }, { $0.active = false }, { $0.suspended = true },
            { $0.externalID = nil }, { $0.userFields["team"] = "south" }, { $0.userFields = [:] },
            { $0.updatedAt = Timestamp(seconds: 1001) }, { $0.updatedAt = nil }, { $0.hasInboxSeat = true },
            // Field boundaries count: the same bytes split differently are another input.
            { $0.name = "Annann@x.com"; $0.email = "" },
        ]
        var seen: Set<Int64> = [base]
        for change in changes {
            var u = ann
            change(&u)
            #expect(seen.insert(Fingerprint(settings).of(u)).inserted)
        }
    }

    @Test func theSettingsAreAPartOfIt() {
        let base = Fingerprint(settings).of(ann)
        let others = [
            SyncSettings(source: .intercom, scope: settings.scope),
            SyncSettings(source: .zendesk, scope: RoleScope(roles: ["agent"])),
            SyncSettings(source: .zendesk, scope: RoleScope(roles: ["agent", "admin"], inboxSeatRequired: true)),
            SyncSettings(source: .zendesk, scope: settings.scope, identifier: .email),
            SyncSettings(source: .zendesk, scope: settings.scope, identifier: .userField("team")),
        ]
        #expect(Set(others.map { Fingerprint($0).of(ann) }).count == others.count)
        #expect(!others.map { Fingerprint($0).of(ann) }.contains(base))
    }
}
