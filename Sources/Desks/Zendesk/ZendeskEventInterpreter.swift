import SyncRules

/// Turns a thin Zendesk event into evidence for the sync rules. Pure: given the event and
/// the link's last snapshot, it says whether the event's own data suffices, or the user
/// must be fetched, or the event changes nothing.
public enum ZendeskEventInterpreter {
    public typealias Interpretation = EventMeaning

    /// The user event types usersync acts on; every other type is acknowledged and ignored.
    public static let handled: Set<String> = [
        "user.created", "user.deleted", "user.active_changed", "user.suspended_changed", "user.role_changed",
        "user.custom_role_changed", "user.name_changed", "user.identity_created", "user.identity_changed",
        "user.identity_deleted", "user.external_id_changed", "user.custom_field_changed", "user.merged",
    ]

    public static func isHandled(_ type: String) -> Bool {
        guard let name = ZendeskEvent.text(type, after: ZendeskEvent.typePrefix) else { return false }
        return handled.contains(name)
    }

    public static func interpret(_ e: ZendeskEvent, snapshot: LinkSnapshot?, identifier: PrimaryIdentifier) -> Interpretation {
        guard let name = e.userEventName, handled.contains(name) else { return .noEffect("event type not handled") }
        guard let uid = e.userID else { return .noEffect("event names no user") }
        let at = e.detail.updatedAt ?? e.time
        // Most user events on a support desk are customers': an unlinked end-user settles
        // without a fetch, unless the event itself may have made them staff.
        if snapshot == nil, e.detail.role == "end-user", !(name == "user.role_changed" && e.currentRoleIsStaff) {
            return .noEffect("end-user is not linked")
        }

        /// The linked user's last snapshot with one change from the event.
        func changed(_ edit: (inout SourceUser) -> Void) -> Interpretation {
            guard let s = snapshot else { return .fetch(userID: uid) }
            var u = SourceUser(id: uid, name: s.name, email: e.detail.email ?? s.email, role: e.detail.role ?? s.role,
                               customRoleID: s.customRole, customRoleName: s.customRoleName, active: s.active,
                               suspended: s.suspended, externalID: e.detail.externalID, updatedAt: at)
            edit(&u)
            return .observe(.seen(u))
        }

        switch name {
        case "user.deleted":
            return .observe(.deleted(sourceUserID: uid, at: at))
        case "user.name_changed":
            guard case .text(let new) = e.current, !new.isEmpty else { return .fetch(userID: uid) }
            return changed { $0.name = new }
        case "user.active_changed":
            guard case .bool(let active) = e.current else { return .fetch(userID: uid) }
            if snapshot == nil { return active ? .fetch(userID: uid) : .noEffect("inactive user is not linked") }
            return changed { $0.active = active }
        case "user.suspended_changed":
            guard case .bool(let suspended) = e.current else { return .fetch(userID: uid) }
            if snapshot == nil { return suspended ? .noEffect("suspended user is not linked") : .fetch(userID: uid) }
            return changed { $0.suspended = suspended }
        case "user.role_changed":
            var role = e.detail.role
            if case .text(let r) = e.current { role = r }
            guard let role, !role.isEmpty else { return .fetch(userID: uid) }
            if snapshot == nil { return role == "end-user" ? .noEffect("end-user is not linked") : .fetch(userID: uid) }
            // A new role may bring a different custom role: only a downgrade is safe to apply thin.
            guard role == "end-user" else { return .fetch(userID: uid) }
            return changed { $0.role = role; $0.customRoleID = nil; $0.customRoleName = nil }
        case "user.custom_field_changed":
            if case .userField = identifier { return .fetch(userID: uid) }
            return snapshot == nil ? .noEffect("user fields do not identify users here")
                                   : .noEffect("user fields do not affect the directory")
        default:
            // created, custom_role_changed, identity_*, external_id_changed, merged: the event
            // lacks what the rules need (name, primary email, role name): read the user.
            return .fetch(userID: uid)
        }
    }
}
