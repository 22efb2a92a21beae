import Config
import HTTPClient
import SyncRules

/// Everything desk-specific, behind one shape: its config section (`DeskSection`), its
/// REST client, its webhook format and its OAuth flow. Intake, inbox, applier, scheduler,
/// routes, metrics and the CLI only ever iterate over `DeskRegistry.all`; a new desk is a
/// folder under `Desks/` that implements this, plus one line in the registry.
public protocol Desk: DeskSection {
    /// The desk's name in messages ("Zendesk").
    var title: String { get }
    var webhooks: any WebhookFormat { get }
    /// The REST client for a tenant's section.
    func source(_ config: SourceConfig, credentials: DeskCredentials, http: HTTPClient,
                log: @escaping @Sendable (String) -> Void) throws -> any Source
    /// The authorization-code flow for a section whose auth is `oauth`.
    func oauth(_ config: SourceConfig, clientSecret: String, redirectURL: String) throws -> any DeskOAuth
    /// The account the section names (Intercom's `app_id`), which a connected token must
    /// belong to; nil when the section names none.
    func configuredAccount(_ config: SourceConfig) -> String?
}

extension Desk {
    public func configuredAccount(_ config: SourceConfig) -> String? { nil }
}

/// Resolved credentials a desk client authenticates with.
public enum DeskCredentials: Sendable {
    /// An API token for Basic auth as `email/token` (Zendesk).
    case apiToken(email: String, token: String)
    /// A fixed bearer token (Intercom's private-app access token).
    case accessToken(String)
    /// A bearer token read on each call (OAuth: refreshed and stored elsewhere).
    case bearer(@Sendable () async throws -> String)
}

/// How a desk frames and signs its webhook deliveries.
public protocol WebhookFormat: Sendable {
    /// Why the headers alone make the delivery inauthentic (401: no signature, a signed
    /// timestamp outside `tolerance`), or nil: decided before the body is read, so that
    /// `Expect: 100-continue` gets the 401 instead of 100. `verify` checks this first.
    func verifyHead(header: (String) -> String?, tolerance: Int, now: Double) -> String?
    /// Nil when the delivery is authentic under one of `secrets`; otherwise why not (401).
    func verify(header: (String) -> String?, body: [UInt8], secrets: [String], tolerance: Int, now: Double) -> String?
    /// The envelope of a verified body, or why it is refused (400 malformed, 401 foreign).
    func envelope(_ body: [UInt8], config: SourceConfig) throws(WebhookRefusal) -> WebhookEnvelope
    /// What a stored event means for the directory, given the link's last snapshot.
    func interpret(_ body: [UInt8], snapshot: LinkSnapshot?, identifier: PrimaryIdentifier) -> EventMeaning
}

/// The parts of a delivery the inbox stores.
public struct WebhookEnvelope: Sendable, Equatable {
    /// Deduplicates deliveries; nil for a delivery that is verified and answered but not
    /// stored (Intercom's `ping`).
    public var eventID: String?
    public var type: String
    public var sourceUserID: String?
    /// False for types usersync does not act on: stored already settled as ignored.
    public var handled: Bool

    public init(eventID: String?, type: String, sourceUserID: String?, handled: Bool) {
        self.eventID = eventID
        self.type = type
        self.sourceUserID = sourceUserID
        self.handled = handled
    }
}

/// Why a verified delivery is refused.
public enum WebhookRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The body is not the desk's event (400).
    case malformed(String)
    /// A notification for another account than the configured one (401).
    case foreign(String)

    public var status: Int {
        switch self {
        case .malformed: 400
        case .foreign: 401
        }
    }

    public var description: String {
        switch self {
        case .malformed(let m), .foreign(let m): m
        }
    }
}

/// A desk's OAuth authorization-code flow.
public protocol DeskOAuth: Sendable {
    var redirectURL: String { get }
    /// Also keys the signed start links `usersync DESK connect` prints.
    var clientSecret: String { get }
    /// The page an admin opens; `challenge` is the PKCE S256 challenge (ignored by desks
    /// without PKCE).
    func authorizationURL(state: String, challenge: String) -> String
    func exchange(code: String, verifier: String) async throws -> OAuthTokens
    /// One refresh attempt (never retried: a desk may rotate and invalidate the old token).
    /// Desks whose tokens do not expire throw.
    func refresh(_ refreshToken: String) async throws -> OAuthTokens
}

/// Tokens an OAuth exchange or refresh returned.
public struct OAuthTokens: Sendable, Equatable {
    public var accessToken: String
    public var refreshToken: String?
    /// Unix seconds; nil when the token does not expire.
    public var expiresAt: Int64?

    public init(accessToken: String, refreshToken: String?, expiresAt: Int64?) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
    }
}
