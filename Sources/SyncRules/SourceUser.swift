/// What a source says about one of its users at one moment: the input of every rule.
///
/// Both the webhook path (event data, or a fetched user) and reconciliation (a listing
/// page) reduce what they learn to this value, which is why the two paths agree.
public struct SourceUser: Sendable, Equatable {
    public var id: String
    public var name: String
    public var email: String?
    /// `end-user`, `agent` or `admin` in Zendesk; Intercom teammates are `admin`.
    public var role: String
    public var customRoleID: String?
    public var customRoleName: String?
    /// False when the source deleted (soft-deleted) the user.
    public var active: Bool
    public var suspended: Bool
    public var externalID: String?
    /// Source custom fields, for a `user_fields.<key>` primary identifier.
    public var userFields: [String: String]
    public var updatedAt: Timestamp?
    /// Intercom's `has_inbox_seat` (nil for desks without seats), for `inbox_seat_required`.
    public var hasInboxSeat: Bool? = nil

    public init(id: String, name: String, email: String? = nil, role: String = "agent",
                customRoleID: String? = nil, customRoleName: String? = nil, active: Bool = true,
                suspended: Bool = false, externalID: String? = nil, userFields: [String: String] = [:],
                updatedAt: Timestamp? = nil) {
        self.id = id
        self.name = name
        self.email = email
        self.role = role
        self.customRoleID = customRoleID
        self.customRoleName = customRoleName
        self.active = active
        self.suspended = suspended
        self.externalID = externalID
        self.userFields = userFields
        self.updatedAt = updatedAt
    }
}

/// What one piece of evidence says happened to a source user.
public enum Observation: Sendable, Equatable {
    /// A current snapshot of the user.
    case seen(SourceUser)
    /// The source says the user is gone (a deletion event, or 404 on fetch).
    case deleted(sourceUserID: String, at: Timestamp?)
    /// A complete listing did not contain the linked user.
    case missingFromListing(sourceUserID: String)
    /// The source says the user left, in its own words (Intercom: "removed from workspace in
    /// source"): a deletion that carries the reason the local user will show.
    case removed(sourceUserID: String, at: Timestamp?, reason: String)

    public var sourceUserID: String {
        switch self {
        case .seen(let u): u.id
        case .deleted(let id, _), .missingFromListing(let id), .removed(let id, _, _): id
        }
    }
}
