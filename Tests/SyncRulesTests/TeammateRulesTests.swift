import SyncRules
import Testing

/// The rules for Intercom teammates: removal with the source's own reason, and the
/// `inbox_seat_required` scope.
@Suite struct TeammateRulesTests {
    func teammate(seat: Bool?, at seconds: Int64 = 2000) -> SourceUser {
        var u = SourceUser(id: "100", name: "Ann Lee", email: "ann@example.com", role: "admin", updatedAt: Timestamp(seconds: seconds))
        u.hasInboxSeat = seat
        return u
    }

    func linkedView(_ local: LocalUser, snapshotAt seconds: Int64 = 1000) -> DirectoryView {
        DirectoryView(link: Link(source: .intercom, sourceUserID: "100", userID: local.id, snapshot: LinkSnapshot(teammate(seat: true, at: seconds))),
                      linkedUser: local)
    }

    let everyone = SyncSettings(source: .intercom, scope: .teammates(inboxSeatRequired: false))
    let seated = SyncSettings(source: .intercom, scope: .teammates(inboxSeatRequired: true))

    @Test func removalDeactivatesWithTheSourcesReasonAndMarksTheSnapshot() {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .active)
        let d = Rules.decide(.removed(sourceUserID: "100", at: Timestamp(seconds: 2000), reason: "removed from workspace in source"),
                             view: linkedView(local), settings: everyone)
        #expect(d.update?.status == .deactivated && d.update?.deactivatedBy == .sync)
        #expect(d.update?.reason == "removed from workspace in source")
        #expect(d.snapshot?.active == false && d.snapshot?.updatedAt == Timestamp(seconds: 2000))
        #expect(d.effects == [.deactivated])
    }

    @Test func removalOlderThanTheLinkIsStaleAndUnlinkedRemovalIsIgnored() {
        let local = LocalUser(id: 1, name: "Ann Lee", status: .active)
        let removed = Observation.removed(sourceUserID: "100", at: Timestamp(seconds: 500), reason: "removed from workspace in source")
        #expect(Rules.decide(removed, view: linkedView(local, snapshotAt: 1000), settings: everyone) == .stale)
        #expect(Rules.decide(removed, view: DirectoryView(), settings: everyone) == .ignored)
        #expect(removed.sourceUserID == "100")
    }

    @Test func aNewerAdditionRestoresARemovedTeammate() {
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .deactivated, deactivatedBy: .sync,
                              reason: "removed from workspace in source", statusBeforeDeactivation: .active)
        let d = Rules.decide(.seen(teammate(seat: true, at: 3000)), view: linkedView(local, snapshotAt: 2000), settings: everyone)
        #expect(d.update?.status == .active && d.effects.contains(.restored))
    }

    @Test func withoutASeatATeammateIsOutOfScopeOnlyWhenSeatsAreRequired() {
        #expect(seated.scope.exclusion(of: teammate(seat: false)) == "no inbox seat in source")
        #expect(seated.scope.exclusion(of: teammate(seat: true)) == nil)
        #expect(seated.scope.exclusion(of: teammate(seat: nil)) == nil, "a source that reports no seats excludes nobody by them")
        #expect(everyone.scope.exclusion(of: teammate(seat: false)) == nil)
        #expect(Rules.decide(.seen(teammate(seat: false)), view: DirectoryView(), settings: seated) == .ignored)
        let local = LocalUser(id: 1, name: "Ann Lee", email: "ann@example.com", status: .active)
        let d = Rules.decide(.seen(teammate(seat: false)), view: linkedView(local), settings: seated)
        #expect(d.update?.reason == "no inbox seat in source" && d.update?.status == .deactivated)
    }
}
