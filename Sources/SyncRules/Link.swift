/// The last applied source snapshot a link keeps, so that repeated and older
/// evidence changes nothing.
public struct LinkSnapshot: Sendable, Equatable {
    public var name: String
    public var email: String?
    public var role: String
    /// The custom role's id (or name when the source gives no id).
    public var customRole: String?
    /// The custom role's name, kept so scope-by-name still works when a snapshot is
    /// rebuilt from a thin webhook event.
    public var customRoleName: String?
    public var active: Bool
    public var suspended: Bool
    public var updatedAt: Timestamp?

    public init(name: String, email: String?, role: String, customRole: String?, customRoleName: String? = nil, active: Bool,
                suspended: Bool, updatedAt: Timestamp?) {
        self.name = name
        self.email = email
        self.role = role
        self.customRole = customRole
        self.customRoleName = customRoleName
        self.active = active
        self.suspended = suspended
        self.updatedAt = updatedAt
    }

    public init(_ u: SourceUser) {
        self.init(name: u.name, email: u.email, role: u.role, customRole: u.customRoleID ?? u.customRoleName,
                  customRoleName: u.customRoleName, active: u.active, suspended: u.suspended, updatedAt: u.updatedAt)
    }
}

/// A tie between one local user and one source user. It follows the source id:
/// email changes never break it.
public struct Link: Sendable, Equatable {
    public var source: SourceKind
    public var sourceUserID: String
    public var userID: Int64
    public var snapshot: LinkSnapshot?

    public init(source: SourceKind, sourceUserID: String, userID: Int64, snapshot: LinkSnapshot?) {
        self.source = source
        self.sourceUserID = sourceUserID
        self.userID = userID
        self.snapshot = snapshot
    }
}
