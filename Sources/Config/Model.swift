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
    /// Seconds a webhook secret replaced by `install-webhook` keeps verifying (default 24 h).
    public var webhookSecretOverlap: Int = 86_400
    public var http: HTTPLimits
    public var retention: Retention
    public var events: EventRetries
    /// Tenants this instance serves (`shard.tenants`); nil means all. See `servedTenants`.
    public var shard: [String]? = nil
    /// Keys the loader did not recognise; reported, not fatal.
    public var warnings: [String]
    /// Certificate and key for HTTPS on `listen`; nil serves plain HTTP.
    public var tls: TLSFiles? = nil
    /// A second address for the admin API, `/metrics` and the OAuth routes; when set, the
    /// `listen` port answers only webhooks and health, so it can face the internet alone.
    public var adminListen: ListenAddress? = nil

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

/// How long settled inbox events (and, when set, audit rows) are kept.
public struct Retention: Sendable, Equatable {
    /// Seconds after which applied and ignored events are pruned (default 30 days).
    public var inbox = 30 * 86_400
    /// Seconds after which audit rows are pruned; nil keeps them forever.
    public var audit: Int?
    public init() {}
}

/// How the applier retries an event that fails to apply.
public struct EventRetries: Sendable, Equatable {
    /// Attempts before the event is marked `failed`.
    public var maxAttempts = 8
    /// Seconds before the first retry; each next one doubles, up to 5 minutes.
    public var retryDelay = 1
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
    /// The tenant's desk sections, in the order the desks are registered.
    public var sources: [SourceConfig]

    public var integrationsAllowed: Bool { features.contains("integrations") }

    public func source(_ kind: SourceKind) -> SourceConfig? { sources.first { $0.kind == kind } }
}

/// When a source's runs happen.
public struct ReconcileSchedule: Sendable, Equatable {
    /// Seconds between full runs.
    public var every: Int
    /// Optional UTC anchor (minutes after midnight) for full runs.
    public var at: Int?
    /// Seconds between incremental catch-ups; nil for none.
    public var incrementalEvery: Int?
    /// Seconds before a failed full run is retried (then doubling, up to an hour).
    public var retry: Int

    public init(every: Int, at: Int?, incrementalEvery: Int?, retry: Int = 60) {
        self.every = every
        self.at = at
        self.incrementalEvery = incrementalEvery
        self.retry = retry
    }
}

/// Every problem found in a config file, each with its path.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}
