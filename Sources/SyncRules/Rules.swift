/// The sync rules of SPEC §2, as one pure function: the webhook path and reconciliation
/// both call it, so they cannot disagree.
public enum Rules {
    /// Decides what one observation of a source user does to the directory.
    public static func decide(_ observation: Observation, view: DirectoryView, settings: SyncSettings) -> Decision {
        switch observation {
        case .seen(let user):
            if let link = view.link, let linked = view.linkedUser {
                return seenLinked(user, link: link, local: linked, view: view, settings: settings)
            }
            return seenUnlinked(user, view: view, settings: settings)
        case .deleted(_, let at):
            return gone(at: at, reason: "deleted in source", view: view)
        case .removed(_, let at, let reason):
            return gone(at: at, reason: reason, view: view)
        case .missingFromListing:
            guard let link = view.link, let local = view.linkedUser else { return .ignored }
            var decision = Decision(effects: [.unchanged])
            let reason = outOfRoles(link, settings: settings) ?? "missing from source"
            decision.linkOut = .some(reason)
            if let after = deactivated(local, reason: reason, view: view, source: link.source) {
                decision.update = after
                decision.effects = [.deactivated]
            }
            return decision
        }
    }

    /// Why a user missing from a complete listing is out of scope, when the role its link
    /// last recorded is no longer among the selected ones: the listing asks for the selected
    /// roles only, so an admin who narrows them sees users drop out who are still in the
    /// desk, and "missing from source" would tell them the accounts are gone.
    private static func outOfRoles(_ link: Link, settings: SyncSettings) -> String? {
        guard let s = link.snapshot else { return nil }
        let last = SourceUser(id: link.sourceUserID, name: s.name, email: s.email, role: s.role, customRoleID: s.customRole,
                              customRoleName: s.customRoleName)
        return settings.scope.includesRole(of: last) ? nil : settings.scope.exclusion(of: last)
    }

    /// The source says the linked user is gone as of `at`: deactivate with `reason`, unless
    /// the link already holds newer evidence.
    private static func gone(at: Timestamp?, reason: String, view: DirectoryView) -> Decision {
        guard let link = view.link, let local = view.linkedUser else { return .ignored }
        if let at, let held = link.snapshot?.updatedAt, at < held { return .stale }
        var decision = Decision(settles: true)
        if var snapshot = link.snapshot {
            snapshot.active = false
            if let at { snapshot.updatedAt = at }
            if snapshot != link.snapshot { decision.snapshot = snapshot }
        }
        decision.linkOut = .some(reason)
        if let after = deactivated(local, reason: reason, view: view, source: view.link?.source) {
            decision.update = after
            decision.effects = [.deactivated]
        } else {
            decision.update = strengthened(local, reason: combined(reason, view: view, source: view.link?.source))
            decision.effects = [.unchanged]
        }
        return decision
    }

    /// The user deactivated by sync because `source` dropped them for `reason`, unless
    /// another linked source still has them active and in scope; the reason then names
    /// every source's.
    public static func deactivated(_ user: LocalUser, reason: String, view: DirectoryView, source: SourceKind?) -> LocalUser? {
        guard view.otherLinks.allSatisfy({ $0.outReason != nil }) else { return nil }
        return deactivated(user, reason: combined(reason, view: view, source: source))
    }

    /// `reason` alone for a user of one source; `zendesk: …; intercom: …` for a user of several.
    static func combined(_ reason: String, view: DirectoryView, source: SourceKind?) -> String {
        guard !view.otherLinks.isEmpty, let source else { return reason }
        let all = [(source, reason)] + view.otherLinks.compactMap { o in o.outReason.map { (o.source, $0) } }
        return all.sorted { $0.0.rawValue < $1.0.rawValue }.map { "\($0.0.rawValue): \($0.1)" }.joined(separator: "; ")
    }

    /// The user deactivated by sync with `reason`, or nil when it is already deactivated
    /// (an admin's deactivation is never overridden, and sync's is not repeated).
    public static func deactivated(_ user: LocalUser, reason: String) -> LocalUser? {
        guard user.status != .deactivated else { return nil }
        var after = user
        after.statusBeforeDeactivation = user.status
        after.status = .deactivated
        after.deactivatedBy = .sync
        after.reason = reason
        return after
    }

    /// A user sync already deactivated, with `reason` when it says more firmly that the
    /// user is gone (suspended, then deleted, shows `deleted in source`); nil otherwise.
    public static func strengthened(_ user: LocalUser, reason: String) -> LocalUser? {
        guard user.status == .deactivated, user.deactivatedBy == .sync,
              strength(reason) > strength(user.reason) else { return nil }
        var after = user
        after.reason = reason
        return after
    }

    /// Whether a link's `current` out reason stays when absence from a listing would give
    /// it `reason`: a stronger reason the desk itself gave (removed, deleted, suspended) is
    /// not weakened to "missing from source".
    public static func absenceKeeps(_ current: String?, over reason: String?) -> Bool {
        reason != nil && strength(current) > strength(reason)
    }

    /// How firmly a sync reason says the user is gone: deletion outranks suspension, which
    /// outranks a role change or absence from a listing.
    static func strength(_ reason: String?) -> Int {
        switch reason {
        case nil: 0
        case "deleted in source", "removed from workspace in source": 3
        case "suspended in source": 2
        default: 1
        }
    }

    /// The limit above which a complete run's deactivations are held for an admin:
    /// the configured value, else 10% of linked users, at least 5 (SPEC §2).
    public static func deactivationLimit(configured: Int?, linkedUsers: Int) -> Int {
        configured ?? max(5, linkedUsers / 10)
    }

    /// The snapshot a linked user's link holds once `user` has been decided against `held`:
    /// the user's own, unless the observation is older than what the link holds (stale, so
    /// nothing is recorded). The webhook applier reads the same user's next thin event
    /// against it without a commit in between, so it must be what `seenLinked` records.
    public static func snapshot(after user: SourceUser, held: LinkSnapshot) -> LinkSnapshot {
        isStale(user, held: held) ? held : LinkSnapshot(user)
    }

    private static func isStale(_ user: SourceUser, held: LinkSnapshot?) -> Bool {
        guard let held = held?.updatedAt, let now = user.updatedAt else { return false }
        return now < held
    }

    private static func seenLinked(_ user: SourceUser, link: Link, local: LocalUser, view: DirectoryView,
                                   settings: SyncSettings) -> Decision {
        if isStale(user, held: link.snapshot) { return .stale }
        var decision = Decision(settles: true)
        var after = local
        // A person in two desks follows the most recent change: a source re-stating a name
        // or email it already gave does not undo the other desk's newer one.
        applyProfile(user, to: &after, view: view, decision: &decision, unchangedSince: view.otherLinks.isEmpty ? nil : link.snapshot)

        if local.status == .deactivated && local.deactivatedBy != .sync {
            // An admin's deactivation stands; profile updates above still apply.
        } else if let reason = settings.scope.exclusion(of: user) {
            decision.linkOut = .some(reason)
            if let d = deactivated(local, reason: reason, view: view, source: settings.source) {
                after.status = d.status
                after.deactivatedBy = d.deactivatedBy
                after.reason = d.reason
                after.statusBeforeDeactivation = d.statusBeforeDeactivation
                decision.effects.insert(.deactivated)
            } else if let d = strengthened(local, reason: combined(reason, view: view, source: settings.source)) {
                after.reason = d.reason
            }
        } else if local.status == .deactivated {
            decision.linkOut = .some(nil)
            var target = local.statusBeforeDeactivation ?? .pending
            if target == .deactivated || (target == .active && !view.seatFree) { target = .pending }
            after.status = target
            after.deactivatedBy = nil
            after.reason = nil
            after.statusBeforeDeactivation = nil
            decision.effects.insert(.restored)
        } else {
            decision.linkOut = .some(nil)
        }

        let snapshot = LinkSnapshot(user)
        if snapshot != link.snapshot { decision.snapshot = snapshot }
        if after != local { decision.update = after }
        if decision.effects.isEmpty { decision.effects = [.unchanged] }
        return decision
    }

    private static func seenUnlinked(_ user: SourceUser, view: DirectoryView, settings: SyncSettings) -> Decision {
        guard settings.scope.exclusion(of: user) == nil else { return .ignored }
        let query = MatchQuery(for: user, identifier: settings.identifier)

        switch pick(view.candidates.byExternalID, user: user, query: query, step: "external_id") {
        case .one(let local): return linkExisting(user, to: local, view: view)
        case .conflict(let c): return Decision(conflict: c, effects: [.conflict])
        case .none: break
        }
        switch pick(view.candidates.byIdentifier, user: user, query: query, step: "identifier") {
        case .one(let local): return linkExisting(user, to: local, view: view)
        case .conflict(let c): return Decision(conflict: c, effects: [.conflict])
        case .none: break
        }

        var decision = Decision(settles: true, effects: [.created])
        var created = NewLocalUser(name: user.name, email: user.email, username: nil, externalID: nil,
                                   status: .pending, origin: LocalUser.Origin(settings.source))
        switch settings.identifier {
        case .externalID, .userField: created.externalID = query.value
        case .defaultMatching, .email: break
        }
        if let holder = view.emailHolder, let email = user.email {
            created.email = nil
            decision.conflict = Conflict(kind: .emailTaken,
                                         detail: "email \(email) is already used by local user \(holder.id)",
                                         userIDs: [holder.id])
            decision.settles = false
            decision.effects.insert(.conflict)
        }
        decision.create = created
        decision.snapshot = LinkSnapshot(user)
        return decision
    }

    private enum Pick { case none, one(LocalUser), conflict(Conflict) }

    private static func pick(_ candidates: [MatchCandidates.Candidate], user: SourceUser, query: MatchQuery,
                             step: String) -> Pick {
        if candidates.isEmpty { return .none }
        let free = candidates.filter { $0.linkedTo == nil || $0.linkedTo == user.id }
        if free.count == 1 { return .one(free[0].user) }
        if free.count > 1 {
            let ids = free.map(\.user.id).sorted()
            let value = step == "external_id" ? user.id : (query.value ?? "")
            return .conflict(Conflict(kind: .ambiguousMatch,
                                      detail: "\(ids.count) local users match \(step) '\(value)': "
                                          + ids.map(String.init).joined(separator: ", "),
                                      userIDs: ids))
        }
        let taken = candidates[0]
        return .conflict(Conflict(kind: .alreadyLinked,
                                  detail: "local user \(taken.user.id) matches but is already linked to source user "
                                      + (taken.linkedTo ?? "?"),
                                  userIDs: candidates.map(\.user.id).sorted()))
    }

    private static func linkExisting(_ user: SourceUser, to local: LocalUser, view: DirectoryView) -> Decision {
        var decision = Decision(linkTo: local.id, settles: true, effects: [.linked])
        var after = local
        applyProfile(user, to: &after, view: view, decision: &decision)
        decision.effects.remove(.renamed)
        decision.effects.remove(.emailChanged)
        if after != local { decision.update = after }
        decision.snapshot = LinkSnapshot(user)
        return decision
    }

    /// Name and email follow the source whatever the status; an email another local
    /// user holds is a conflict, not an overwrite.
    private static func applyProfile(_ user: SourceUser, to after: inout LocalUser, view: DirectoryView,
                                     decision: inout Decision, unchangedSince previous: LinkSnapshot? = nil) {
        let name = user.name.trimmedSpaces
        if !name.isEmpty && name != after.name && name != previous?.name.trimmedSpaces {
            after.name = name
            decision.effects.insert(.renamed)
        }
        if let email = user.email, !email.isEmpty, email != after.email, previous == nil || email != previous?.email {
            if let holder = view.emailHolder, holder.id != after.id {
                decision.conflict = Conflict(kind: .emailTaken,
                                             detail: "email \(email) is already used by local user \(holder.id)",
                                             userIDs: [after.id, holder.id])
                decision.settles = false
                decision.effects.insert(.conflict)
            } else {
                after.email = email
                decision.effects.insert(.emailChanged)
            }
        }
    }
}
