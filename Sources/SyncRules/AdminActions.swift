/// What an admin may do to a local user (the "Manage Users" permission), as pure rules.
public enum AdminActions {
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        case noSeatFree(used: Int, limit: Int)
        case alreadyActive

        public var description: String {
            switch self {
            case .noSeatFree(let used, let limit): "no licence seat is free (\(used) of \(limit) in use)"
            case .alreadyActive: "already active"
            }
        }
    }

    /// Activation takes a seat: refused when every seat is taken. Pending users take none.
    public static func activate(_ user: LocalUser, activeCount: Int, licenceLimit: Int) -> Result<LocalUser, Refusal> {
        if user.status == .active { return .failure(.alreadyActive) }
        if activeCount >= licenceLimit { return .failure(.noSeatFree(used: activeCount, limit: licenceLimit)) }
        var after = user
        after.status = .active
        after.deactivatedBy = nil
        after.reason = nil
        after.statusBeforeDeactivation = nil
        return .success(after)
    }

    /// An admin's deactivation, which sync never overrides. Nil when already deactivated by an admin.
    public static func deactivate(_ user: LocalUser, reason: String?) -> LocalUser? {
        if user.status == .deactivated && user.deactivatedBy == .admin { return nil }
        var after = user
        if user.status != .deactivated { after.statusBeforeDeactivation = user.status }
        after.status = .deactivated
        after.deactivatedBy = .admin
        after.reason = reason ?? "deactivated by admin"
        return after
    }
}

/// Ticket agent mapping: which local user a ticket's source agent is, with or without user sync.
public enum AgentResolution: Sendable, Equatable {
    case found(LocalUser, via: String)
    case ambiguous([LocalUser])
    case notFound

    /// Link first, then external_id = source id, then the identifier value.
    public static func resolve(linked: LocalUser?, candidates: MatchCandidates) -> AgentResolution {
        if let linked { return .found(linked, via: "link") }
        for (step, list) in [("external_id", candidates.byExternalID), ("identifier", candidates.byIdentifier)] {
            if list.count == 1 { return .found(list[0].user, via: step) }
            if list.count > 1 { return .ambiguous(list.map(\.user)) }
        }
        return .notFound
    }
}
