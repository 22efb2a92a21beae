import SyncRules

/// The whole config file, validated. See README "Config file" for every key.
public struct UsersyncConfig: Sendable, Equatable {
    public var listen: ListenAddress
    public var dataDir: String
    public var adminTokens: [AdminToken]
    public var tenants: [TenantConfig]
    /// How far a webhook's signature timestamp may be from now (default 1 h: Zendesk may
    /// reuse the timestamp on retries; event-id dedup covers replays).
    public var webhookTolerance: Int
    public var http: HTTPLimits
    /// Tenants this instance serves (`shard.tenants`); nil means all. See `servedTenants`.
    public var shard: [String]? = nil
    /// Keys the loader did not recognise; reported, not fatal.
    public var warnings: [String]

    public func tenant(_ id: String) -> TenantConfig? { tenants.first { $0.id == id } }
}

public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var description: String { "\(host):\(port)" }
}

/// Limits of the webhook receiver (SPEC §4 defaults).
public struct HTTPLimits: Sendable, Equatable {
    public var maxConnections = 1024
    public var maxHeadBytes = 16 * 1024
    public var maxBodyBytes = 1024 * 1024
    public var headTimeout = 10
    public var bodyTimeout = 10
    public var idleTimeout = 60
    public var drainTimeout = 10
    /// Event loops (threads); 0 means one per core.
    public var loops = 0
    public init() {}
}

public struct AdminToken: Sendable, Equatable {
    public enum Permission: String, Sendable, CaseIterable { case manageUsers = "manage_users", manageIntegrations = "manage_integrations" }
    public var name: String
    public var token: SecretRef
    public var permissions: Set<Permission>
    /// Tenants the token may act on; nil means all.
    public var tenants: [String]?
}

public struct TenantConfig: Sendable, Equatable {
    public var id: String
    public var features: Set<String>
    public var licenceLimit: Int
    public var zendesk: ZendeskConfig?
    public var intercom: IntercomConfig?

    public var integrationsAllowed: Bool { features.contains("integrations") }
}

/// When a source's runs happen.
public struct ReconcileSchedule: Sendable, Equatable {
    /// Seconds between full runs.
    public var every: Int
    /// Optional UTC anchor (minutes after midnight) for full runs.
    public var at: Int?
    /// Seconds between incremental catch-ups; nil for none.
    public var incrementalEvery: Int?

    public init(every: Int, at: Int?, incrementalEvery: Int?) {
        self.every = every
        self.at = at
        self.incrementalEvery = incrementalEvery
    }
}

public struct ZendeskConfig: Sendable, Equatable {
    public enum Auth: Sendable, Equatable {
        case apiToken(email: String, token: SecretRef)
        case oauth(clientID: String, clientSecret: SecretRef, redirectURL: String?, scope: String)
    }
    public var enabled: Bool
    public var subdomain: String
    public var apiBaseURL: String
    public var auth: Auth
    public var webhookSecret: SecretRef?
    public var roles: [String]
    public var primaryIdentifier: PrimaryIdentifier
    public var reconcile: ReconcileSchedule
    public var maxDeactivations: Int?

    public var settings: SyncSettings { SyncSettings(source: .zendesk, scope: RoleScope(roles: roles), identifier: primaryIdentifier) }
}

public struct IntercomConfig: Sendable, Equatable {
    public var enabled: Bool
    public var region: String
    public var apiBaseURL: String
    public var token: SecretRef
    public var webhookSecret: SecretRef?
    public var primaryIdentifier: PrimaryIdentifier
    public var reconcile: ReconcileSchedule
    public var maxDeactivations: Int?

    public var settings: SyncSettings { SyncSettings(source: .intercom, scope: .everyone, identifier: primaryIdentifier) }
}

/// Every problem found in a config file, each with its path.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}
