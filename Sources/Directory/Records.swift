import SyncRules

/// A local user as stored: the rules' view plus its links and timestamps.
public struct UserRecord: Sendable, Equatable {
    public var user: LocalUser
    public var links: [(source: SourceKind, sourceUserID: String)]
    public var createdAt: String
    public var updatedAt: String

    public static func == (a: UserRecord, b: UserRecord) -> Bool {
        a.user == b.user && a.createdAt == b.createdAt && a.updatedAt == b.updatedAt
            && a.links.map { "\($0.source.rawValue):\($0.sourceUserID)" } == b.links.map { "\($0.source.rawValue):\($0.sourceUserID)" }
    }
}

/// Why a local user changed: the cause every audit row names.
public enum Cause: Sendable, Equatable, CustomStringConvertible {
    case event(SourceKind, String)
    case run(Int64)
    case admin(String)

    var kind: String {
        switch self {
        case .event: "event"
        case .run: "run"
        case .admin: "admin"
        }
    }

    var reference: String {
        switch self {
        case .event(let s, let id): "\(s.rawValue):\(id)"
        case .run(let id): String(id)
        case .admin(let who): who
        }
    }

    public var description: String { "\(kind) \(reference)" }
}

/// One audit row: a local user before and after a change, and why.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int64
    public var userID: Int64
    public var at: String
    public var action: String
    public var causeKind: String
    public var cause: String
    /// JSON objects of the user's fields; nil before a creation.
    public var before: String?
    public var after: String?
}

/// An open conflict an admin must resolve.
public struct ConflictRecord: Sendable, Equatable {
    public var source: SourceKind
    public var sourceUserID: String
    public var kind: String
    public var detail: String
    public var firstSeen: String
    public var lastSeen: String
}

/// A deactivation a complete run wants but the mass-deactivation guard holds.
public struct HeldDeactivation: Sendable, Equatable {
    public var source: SourceKind
    public var sourceUserID: String
    public var userID: Int64
    public var runID: Int64
    public var reason: String
}

/// One reconciliation run as recorded.
public struct RunRecord: Sendable, Equatable {
    public enum Kind: String, Sendable { case full, incremental }
    public enum Outcome: String, Sendable { case running, completed, failed, held }
    public var id: Int64
    public var source: SourceKind
    public var kind: Kind
    public var startedAt: String
    public var finishedAt: String?
    public var outcome: Outcome
    public var error: String?
    public var pages: Int
    public var counts: SyncCounts
}

/// Per-source state that outlives a process: cursors, auth health, webhook and OAuth secrets.
public struct SourceState: Sendable, Equatable {
    public var incrementalCursor: String?
    public var authBroken: Bool
    public var authError: String?
    public var lastEventAt: String?
    public var webhookID: String?
    public var webhookSecret: String?
    public var oauthAccessToken: String?
    public var oauthRefreshToken: String?
    public var oauthExpiresAt: Int64?
    public var oauthState: String?
    public var oauthVerifier: String?

    public init() {
        authBroken = false
    }
}

/// Errors from the directory, with the tenant they concern.
public struct DirectoryError: Error, CustomStringConvertible, Sendable {
    public var tenant: String
    public var message: String
    /// True when the refusal is the user's to fix (unknown id, no seat, duplicate email).
    public var isUserError: Bool

    public init(tenant: String, message: String, isUserError: Bool = false) {
        self.tenant = tenant
        self.message = message
        self.isUserError = isUserError
    }

    public var description: String { "tenant \(tenant): \(message)" }
}
