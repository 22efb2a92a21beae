/// A user of the QA platform's own directory, as the rules see it.
public struct LocalUser: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable, Codable { case pending, active, deactivated }
    /// Who deactivated a user: sync may undo its own deactivations, never an admin's.
    public enum Deactivator: String, Sendable, Codable { case sync, admin }
    public enum Origin: String, Sendable, Codable { case manual, zendesk, intercom }

    public var id: Int64
    public var name: String
    public var email: String?
    public var username: String?
    public var externalID: String?
    public var status: Status
    public var deactivatedBy: Deactivator?
    public var reason: String?
    public var origin: Origin
    /// The status to restore when sync re-activates a user it deactivated.
    public var statusBeforeDeactivation: Status?

    public init(id: Int64, name: String, email: String? = nil, username: String? = nil,
                externalID: String? = nil, status: Status = .pending, deactivatedBy: Deactivator? = nil,
                reason: String? = nil, origin: Origin = .manual, statusBeforeDeactivation: Status? = nil) {
        self.id = id
        self.name = name
        self.email = email
        self.username = username
        self.externalID = externalID
        self.status = status
        self.deactivatedBy = deactivatedBy
        self.reason = reason
        self.origin = origin
        self.statusBeforeDeactivation = statusBeforeDeactivation
    }
}

extension LocalUser.Origin {
    /// A user created by sync has its source as origin.
    public init(_ source: SourceKind) {
        self = Self(rawValue: source.rawValue) ?? .manual
    }
}

/// A local user the rules want created (the store assigns the id).
public struct NewLocalUser: Sendable, Equatable {
    public var name: String
    public var email: String?
    public var username: String?
    public var externalID: String?
    public var status: LocalUser.Status
    public var origin: LocalUser.Origin

    public init(name: String, email: String?, username: String?, externalID: String?, status: LocalUser.Status,
                origin: LocalUser.Origin) {
        self.name = name
        self.email = email
        self.username = username
        self.externalID = externalID
        self.status = status
        self.origin = origin
    }
}
