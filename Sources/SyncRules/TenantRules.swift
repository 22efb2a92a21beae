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
    /// The linked user's links to other sources: each one's name and, when that source no
    /// longer has the user active and in scope, why (SPEC §2, one person in two desks).
    public var otherLinks: [OtherLink]

    public init(link: Link? = nil, linkedUser: LocalUser? = nil, candidates: MatchCandidates = .init(),
                emailHolder: LocalUser? = nil, seatFree: Bool = true, otherLinks: [OtherLink] = []) {
        self.link = link
        self.linkedUser = linkedUser
        self.candidates = candidates
        self.emailHolder = emailHolder
        self.seatFree = seatFree
        self.otherLinks = otherLinks
    }
}

/// Another source's link of the same local user.
public struct OtherLink: Sendable, Equatable {
    public var source: SourceKind
    /// Why that source dropped the user; nil while it has them active and in scope.
    public var outReason: String?

    public init(source: SourceKind, outReason: String?) {
        self.source = source
        self.outReason = outReason
    }
}
