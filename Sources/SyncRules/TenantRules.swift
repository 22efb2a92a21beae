/// The per-tenant, per-source settings the rules depend on.
public struct SyncSettings: Sendable, Equatable {
    public var source: SourceKind
    public var scope: RoleScope
    public var identifier: PrimaryIdentifier

    public init(source: SourceKind, scope: RoleScope, identifier: PrimaryIdentifier = .defaultMatching) {
        self.source = source
        self.scope = scope
        self.identifier = identifier
    }
}

/// What the rules see of the directory around one source user.
public struct DirectoryView: Sendable, Equatable {
    /// The existing link for this source user, if any.
    public var link: Link?
    /// The local user that link points to.
    public var linkedUser: LocalUser?
    /// Consulted only when there is no link.
    public var candidates: MatchCandidates
    /// Another local user (not the linked one) holding the source user's email, if any.
    public var emailHolder: LocalUser?
    /// Whether a licence seat is free (for a sync re-activation to `active`).
    public var seatFree: Bool

    public init(link: Link? = nil, linkedUser: LocalUser? = nil, candidates: MatchCandidates = .init(),
                emailHolder: LocalUser? = nil, seatFree: Bool = true) {
        self.link = link
        self.linkedUser = linkedUser
        self.candidates = candidates
        self.emailHolder = emailHolder
        self.seatFree = seatFree
    }
}
