import JSON
import SyncRules

/// One desk's section of a tenant (`"zendesk": {...}`, `"intercom": {...}`): the keys every
/// desk shares are read here, the desk's own keys by the desk (`DeskSection`), so the
/// config file grows a section per desk without this module knowing any desk.
public struct SourceConfig: Sendable, Equatable {
    public var kind: SourceKind
    public var enabled: Bool
    public var apiBaseURL: String
    public var auth: SourceAuth
    /// Signs the desk's webhooks (for Intercom, the app's client secret).
    public var webhookSecret: SecretRef?
    public var settings: SyncSettings
    public var reconcile: ReconcileSchedule
    public var maxDeactivations: Int?
    /// What only this desk reads (Zendesk's subdomain and roles, Intercom's region...).
    public var options: any DeskOptions

    public init(kind: SourceKind, enabled: Bool, apiBaseURL: String, auth: SourceAuth, webhookSecret: SecretRef?,
                settings: SyncSettings, reconcile: ReconcileSchedule, maxDeactivations: Int?, options: any DeskOptions) {
        self.kind = kind
        self.enabled = enabled
        self.apiBaseURL = apiBaseURL
        self.auth = auth
        self.webhookSecret = webhookSecret
        self.settings = settings
        self.reconcile = reconcile
        self.maxDeactivations = maxDeactivations
        self.options = options
    }

    public static func == (a: SourceConfig, b: SourceConfig) -> Bool {
        a.kind == b.kind && a.enabled == b.enabled && a.apiBaseURL == b.apiBaseURL && a.auth == b.auth
            && a.webhookSecret == b.webhookSecret && a.settings == b.settings && a.reconcile == b.reconcile
            && a.maxDeactivations == b.maxDeactivations && a.options.isEqual(to: b.options)
    }

    /// The desk's own options, when they are of type `T`.
    public func options<T: DeskOptions>(as: T.Type) -> T? { options as? T }
}

/// How usersync authenticates to a desk's API.
public enum SourceAuth: Sendable, Equatable {
    /// `{"type": "api_token", "email", "token_env"|"token_file"}` (Basic auth).
    case apiToken(email: String, token: SecretRef)
    /// `{"type": "access_token", "token_env"|"token_file"}` (Bearer).
    case accessToken(SecretRef)
    /// `{"type": "oauth", "client_id", "client_secret_env"|"_file", "redirect_url", "scope"}`.
    case oauth(clientID: String, clientSecret: SecretRef, redirectURL: String?, scope: String?)

    /// Whether usersync holds a token it obtained itself (`connect`), not one configured.
    public var isOAuth: Bool {
        if case .oauth = self { return true }
        return false
    }

    public var type: String {
        switch self {
        case .apiToken: "api_token"
        case .accessToken: "access_token"
        case .oauth: "oauth"
        }
    }

    /// The secrets this auth needs, named by their config key.
    public var secrets: [(key: String, ref: SecretRef)] {
        switch self {
        case .apiToken(_, let t): [("auth.token", t)]
        case .accessToken(let t): [("auth.token", t)]
        case .oauth(_, let s, _, _): [("auth.client_secret", s)]
        }
    }
}

/// A desk's own section options; compared when a reload decides what changed.
public protocol DeskOptions: Sendable {
    func isEqual(to other: any DeskOptions) -> Bool
}

extension DeskOptions where Self: Equatable {
    public func isEqual(to other: any DeskOptions) -> Bool { (other as? Self) == self }
}

/// What a desk tells the loader about its section: its key, the auth types it accepts,
/// its default schedule, and how to read its own keys.
public protocol DeskSection: Sendable {
    var kind: SourceKind { get }
    var authTypes: [String] { get }
    /// Full-run period when `reconcile.every` is not given.
    var defaultEvery: Int { get }
    /// Reads the desk's own keys of the section (problems go to `fields`); nil when they
    /// are unusable. `baseURL` is the configured `api_base_url`, if any.
    func parseOptions(_ fields: Fields, enabled: Bool, baseURL: String?, identifier: PrimaryIdentifier) -> DeskParse?
}

/// What a desk makes of its own keys.
public struct DeskParse: Sendable {
    public var options: any DeskOptions
    public var apiBaseURL: String
    public var scope: RoleScope

    public init(options: any DeskOptions, apiBaseURL: String, scope: RoleScope) {
        self.options = options
        self.apiBaseURL = apiBaseURL
        self.scope = scope
    }
}
