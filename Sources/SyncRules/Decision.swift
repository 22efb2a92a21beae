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
    /// What the link should record about this source's view of the user: `.some(nil)` in
    /// scope, `.some(reason)` dropped for `reason`, nil unchanged.
    public var linkOut: String??
    public var effects: Effects

    public init(create: NewLocalUser? = nil, linkTo: Int64? = nil, update: LocalUser? = nil,
                snapshot: LinkSnapshot? = nil, conflict: Conflict? = nil, settles: Bool = false,
                effects: Effects = []) {
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

    /// The kinds of change, used for run counts, audit actions and metrics. A bit set, as
    /// every decision carries one and most carry a single bit.
    public struct Effects: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        public static let created = Effects(rawValue: 1 << 0)
        public static let linked = Effects(rawValue: 1 << 1)
        public static let renamed = Effects(rawValue: 1 << 2)
        public static let emailChanged = Effects(rawValue: 1 << 3)
        public static let deactivated = Effects(rawValue: 1 << 4)
        public static let restored = Effects(rawValue: 1 << 5)
        public static let unchanged = Effects(rawValue: 1 << 6)
        public static let conflict = Effects(rawValue: 1 << 7)
        public static let stale = Effects(rawValue: 1 << 8)
        public static let ignored = Effects(rawValue: 1 << 9)

        /// Every effect with its name, in a fixed order.
        public static let named: [(Effects, String)] = [
            (.created, "created"), (.linked, "linked"), (.renamed, "renamed"), (.emailChanged, "email_changed"),
            (.deactivated, "deactivated"), (.restored, "restored"), (.unchanged, "unchanged"), (.conflict, "conflict"),
            (.stale, "stale"), (.ignored, "ignored"),
        ]

        /// The names of the effects present, in the fixed order.
        public var names: [String] { Self.named.filter { contains($0.0) }.map(\.1) }
    }
}

/// Why the rules could not apply a source user cleanly.
public struct Conflict: Sendable, Equatable {
    public enum Kind: String, Sendable { case ambiguousMatch = "ambiguous_match", emailTaken = "email_taken",
                                         alreadyLinked = "already_linked",
                                         /// The store could not carry the decision out (a collision the rules did not foresee).
                                         unapplicable = "unapplicable" }
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
