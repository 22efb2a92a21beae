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
    /// The local users involved (the one the source user would change, and who blocks it).
    public var userIDs: [Int64]
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
    public enum Outcome: String, Sendable { case running, completed, failed, held, abandoned }
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
    /// When the scheduler plans the next run (unix seconds), and its kind, for `status`.
    public var nextRunAt: Int64?
    public var nextRunKind: String?
    /// Who is refreshing the OAuth token now, and until when the claim holds.
    public var oauthRefreshClaim: String?
    public var oauthRefreshClaimUntil: Int64?
    /// A refresh whose answer was lost: the stored refresh token may already be spent.
    public var oauthRefreshUncertain: Bool = false
    /// The desk account the credentials belong to (Intercom's `app.id_code`), and its region.
    public var accountID: String?
    public var accountRegion: String?

    public init() {
        authBroken = false
    }
}

/// Errors from the directory, with the tenant they concern. Callers match `reason` by
/// case; `description` is for people.
public struct DirectoryError: Error, CustomStringConvertible, Sendable {
    public enum Reason: Sendable, Equatable {
        /// The database cannot be opened or written right now (locked elsewhere, I/O, full
        /// disk): retry later; nothing about the data is wrong.
        case storeUnavailable(String)
        /// A setting durability depends on did not take (journal mode, synchronous).
        case unsafeStore(String)
        /// A unique field (email, username, external_id) is already held by another user.
        case collision(field: String, value: String, holder: Int64)
        case noSuchUser(Int64)
        /// An admin action the rules refuse (no free seat, empty name).
        case refused(String)
        /// Another run holds the tenant source's run lease.
        case leaseHeld(RunLease)
        /// Any other SQLite failure, with its message.
        case sqlite(code: Int32, message: String)
    }

    public var tenant: String
    public var reason: Reason

    public init(tenant: String, _ reason: Reason) {
        self.tenant = tenant
        self.reason = reason
    }

    /// True when the refusal is the user's to fix (unknown id, no seat, duplicate email).
    public var isUserError: Bool {
        switch reason {
        case .collision, .noSuchUser, .refused: true
        case .storeUnavailable, .unsafeStore, .leaseHeld, .sqlite: false
        }
    }

    /// True when retrying later may succeed without anything changing in the data.
    public var isTransient: Bool {
        if case .storeUnavailable = reason { return true }
        return false
    }

    public var message: String {
        switch reason {
        case .storeUnavailable(let m): "store unavailable: \(m)"
        case .unsafeStore(let m): "unsafe store settings: \(m)"
        case .collision(let field, let value, let holder): "\(field) '\(value)' is already used by local user \(holder)"
        case .noSuchUser(let id): "no local user with id \(id)"
        case .refused(let m): m
        case .leaseHeld(let lease): "a \(lease.source.rawValue) run is already in progress: \(lease)"
        case .sqlite(_, let m): m
        }
    }

    public var description: String { "tenant \(tenant): \(message)" }
}

/// The lease a full run holds on its tenant source, so only one runs at a time across
/// processes and config reloads.
public struct RunLease: Sendable, Equatable, CustomStringConvertible {
    public var source: SourceKind
    public var runID: Int64
    /// Who holds it: `PID@HOST (ROLE)`.
    public var owner: String
    public var heartbeatAt: Int64
    public var expiresAt: Int64

    public var description: String { "run #\(runID) held by \(owner)" }
}
