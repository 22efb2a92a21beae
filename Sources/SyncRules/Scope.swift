/// Which source users a tenant imports: the roles an admin selected.
///
/// `agent` selects every agent (whatever custom role), `admin` every admin, and any
/// other entry a custom role by name (case-insensitive) or id, so a tenant can import
/// only "Team Lead" agents. End-users are never in scope. An empty `roles` list means
/// every non-end-user (Intercom, whose teammates have no roles to pick).
public struct RoleScope: Sendable, Equatable {
    public var roles: [String]

    public init(roles: [String]) { self.roles = roles }

    /// Every teammate (Intercom).
    public static let everyone = RoleScope(roles: [])

    public func includesRole(of user: SourceUser) -> Bool {
        let role = user.role.lowercased()
        if role == "end-user" || role == "end_user" { return false }
        if roles.isEmpty { return true }
        for wanted in roles {
            let w = wanted.lowercased()
            if w == role { return true }
            if role == "agent" || role == "admin" {
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
        if !includesRole(of: user) {
            let role = user.role.lowercased()
            if role == "end-user" || role == "end_user" { return "downgraded to end-user in source" }
            let custom = user.customRoleName ?? user.customRoleID
            return "role \(custom.map { "'\($0)'" } ?? "'\(user.role)'") is not among the imported roles"
        }
        return nil
    }
}
