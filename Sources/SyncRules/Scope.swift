/// Which source users a tenant imports: the roles an admin selected.
///
/// `agent` selects every agent (whatever custom role), `admin` every admin, and any
/// other entry a custom role by name (case-insensitive) or id, so a tenant can import
/// only "Team Lead" agents. End-users are never in scope. An empty `roles` list means
/// every non-end-user (Intercom, whose teammates have no roles to pick).
/// `inboxSeatRequired` (Intercom's `inbox_seat_required`) also leaves out users the source
/// says have no inbox seat.
public struct RoleScope: Sendable, Equatable {
    public let roles: [String]
    public let inboxSeatRequired: Bool
    /// Lower-cased once: scope checks run for every user of every page.
    private let lowered: [String]

    public init(roles: [String], inboxSeatRequired: Bool = false) {
        self.roles = roles
        self.inboxSeatRequired = inboxSeatRequired
        self.lowered = roles.map { $0.lowercased() }
    }

    /// Every teammate (Intercom).
    public static let everyone = RoleScope(roles: [])

    /// Every teammate, or with `inboxSeatRequired` only those holding an inbox seat.
    public static func teammates(inboxSeatRequired: Bool) -> RoleScope {
        RoleScope(roles: [], inboxSeatRequired: inboxSeatRequired)
    }

    public func includesRole(of user: SourceUser) -> Bool {
        let role = user.role
        // The usual case, a role exactly as configured: no case folding.
        if !roles.isEmpty, lowered.contains(role), role != "end-user", role != "end_user" { return true }
        if role.equalsIgnoringASCIICase("end-user") || role.equalsIgnoringASCIICase("end_user") { return false }
        if roles.isEmpty { return true }
        let staff = role.equalsIgnoringASCIICase("agent") || role.equalsIgnoringASCIICase("admin")
        for (wanted, w) in zip(roles, lowered) {
            if role.equalsIgnoringASCIICase(w) { return true }
            if staff {
                if let id = user.customRoleID, id == wanted { return true }
                if let name = user.customRoleName, name.lowercased() == w { return true }
            }
        }
        return false
    }

    /// Why a user is out of scope, or nil when the user is in scope.
    public func exclusion(of user: SourceUser) -> String? {
        if !user.active { return "deleted in source" }
        if user.suspended { return "suspended in source" }
        // Unknown (nil) is not "no seat": only a source that reports seats can exclude by them.
        if inboxSeatRequired && user.hasInboxSeat == false { return "no inbox seat in source" }
        if !includesRole(of: user) {
            if user.role.equalsIgnoringASCIICase("end-user") || user.role.equalsIgnoringASCIICase("end_user") {
                return "downgraded to end-user in source"
            }
            let custom = user.customRoleName ?? user.customRoleID
            return "role \(custom.map { "'\($0)'" } ?? "'\(user.role)'") is not among the imported roles"
        }
        return nil
    }
}
