/// How a source user finds its local user before a link exists.
///
/// Blank (`.defaultMatching`): local `external_id` = source user id first, then the source
/// email against local email or username, case-insensitively. Configured: the named
/// source field's value must equal the local `external_id` or `username`.
public enum PrimaryIdentifier: Sendable, Equatable, CustomStringConvertible {
    case defaultMatching
    case externalID
    case email
    case userField(String)

    /// Parses the config value (`null`/blank, `external_id`, `email`, `user_fields.<key>`).
    public init?(configValue: String?) {
        guard let raw = configValue?.trimmedSpaces, !raw.isEmpty else {
            self = .defaultMatching
            return
        }
        switch raw {
        case "external_id": self = .externalID
        case "email": self = .email
        default:
            let prefix = "user_fields."
            guard raw.hasPrefix(prefix), raw.count > prefix.count else { return nil }
            self = .userField(String(raw.dropFirst(prefix.count)))
        }
    }

    public var description: String {
        switch self {
        case .defaultMatching: "email (default)"
        case .externalID: "external_id"
        case .email: "email"
        case .userField(let k): "user_fields.\(k)"
        }
    }

    /// The source value this identifier reads, or nil when the user has none.
    public func value(of user: SourceUser) -> String? {
        let v: String?
        switch self {
        case .defaultMatching, .email: v = user.email
        case .externalID: v = user.externalID
        case .userField(let k): v = user.userFields[k]
        }
        guard let v, !v.isEmpty else { return nil }
        return v
    }
}

/// The local lookups a match needs; the store runs them and hands back candidates.
public struct MatchQuery: Sendable, Equatable {
    /// Step one (default matching): local users whose `external_id` equals this source id.
    public var externalIDEquals: String?
    /// Step two: this value, compared case-insensitively against `fields`.
    public var value: String?
    public var fields: [LocalField]

    public enum LocalField: String, Sendable { case email, username, externalID = "external_id" }

    public init(for user: SourceUser, identifier: PrimaryIdentifier) {
        switch identifier {
        case .defaultMatching:
            externalIDEquals = user.id
            value = identifier.value(of: user)
            fields = [.email, .username]
        default:
            externalIDEquals = nil
            value = identifier.value(of: user)
            fields = [.externalID, .username]
        }
    }
}

/// Local users found by a `MatchQuery`, each with the source user it is already linked to.
public struct MatchCandidates: Sendable, Equatable {
    public struct Candidate: Sendable, Equatable {
        public var user: LocalUser
        /// The id of the source user (same source) this local user is already linked to.
        public var linkedTo: String?
        public init(user: LocalUser, linkedTo: String?) {
            self.user = user
            self.linkedTo = linkedTo
        }
    }
    public var byExternalID: [Candidate]
    public var byIdentifier: [Candidate]

    public init(byExternalID: [Candidate] = [], byIdentifier: [Candidate] = []) {
        self.byExternalID = byExternalID
        self.byIdentifier = byIdentifier
    }
}
