/// What the rules want done for one observation. The store carries it out in one
/// transaction; nothing here performs I/O.
public struct Decision: Sendable, Equatable {
    /// Create this local user and link the source user to it.
    public var create: NewLocalUser?
    /// Link the source user to this existing local user.
    public var linkTo: Int64?
    /// The linked (or newly linked) user as it should become; nil means unchanged.
    public var update: LocalUser?
    /// The snapshot the link should now hold; nil means leave the link as it is.
    public var snapshot: LinkSnapshot?
    /// A problem an admin must resolve; `status` shows it.
    public var conflict: Conflict?
    /// Whether this observation settled the source user, clearing conflicts recorded for it.
    public var settles: Bool
    public var effects: Set<Effect>

    public init(create: NewLocalUser? = nil, linkTo: Int64? = nil, update: LocalUser? = nil,
                snapshot: LinkSnapshot? = nil, conflict: Conflict? = nil, settles: Bool = false,
                effects: Set<Effect> = []) {
        self.create = create
        self.linkTo = linkTo
        self.update = update
        self.snapshot = snapshot
        self.conflict = conflict
        self.settles = settles
        self.effects = effects
    }

    public static let stale = Decision(effects: [.stale])
    public static let ignored = Decision(effects: [.ignored])

    /// The kinds of change, used for run counts and metrics.
    public enum Effect: String, Sendable, Hashable, CaseIterable {
        case created, linked, renamed, emailChanged = "email_changed", deactivated, restored
        case unchanged, conflict, stale, ignored
    }
}

/// Why the rules could not apply a source user cleanly.
public struct Conflict: Sendable, Equatable {
    public enum Kind: String, Sendable { case ambiguousMatch = "ambiguous_match", emailTaken = "email_taken",
                                         alreadyLinked = "already_linked" }
    public var kind: Kind
    public var detail: String
    /// The local users involved.
    public var userIDs: [Int64]

    public init(kind: Kind, detail: String, userIDs: [Int64]) {
        self.kind = kind
        self.detail = detail
        self.userIDs = userIDs
    }
}
