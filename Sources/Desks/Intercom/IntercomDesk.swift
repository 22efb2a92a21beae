import Config
import HTTPClient
import Signing
import SyncRules

/// Intercom as a desk: workspace teammates (`GET /admins`, no roles to pick), whole-admin
/// notifications signed with the app's client secret, OAuth for public apps
/// (shared/reference/intercom-and-webhook-practice.md §1–3).
public struct IntercomDesk: Desk {
    public init() {}
    public var kind: SourceKind { .intercom }
    public func configuredAccount(_ config: SourceConfig) -> String? { config.options(as: Options.self)?.appID }
    public var title: String { "Intercom" }
    public var authTypes: [String] { ["access_token", "oauth"] }
    /// Full runs every 6 h by default (SPEC §3).
    public var defaultEvery: Int { 6 * 3600 }
    public var webhooks: any WebhookFormat { IntercomWebhooks() }

    /// The section's own keys.
    public struct Options: DeskOptions, Equatable {
        public var region: IntercomClient.Region
        /// The workspace (`app.id_code` of `GET /me`) notifications must name; nil: any.
        public var appID: String?
        public var inboxSeatRequired: Bool
        /// Whether `api_base_url` overrides the regional host (a simulator).
        public var overridden: Bool
    }

    public func parseOptions(_ f: Fields, enabled: Bool, baseURL: String?, identifier: PrimaryIdentifier) -> DeskParse? {
        if f.has("roles") { f.fail("roles", "Intercom imports workspace admins (teammates); it has no roles to pick") }
        let raw = (f.string("region") ?? "us").lowercased()
        let region = IntercomClient.Region(rawValue: raw)
        if region == nil { f.fail("region", "'\(raw)' is not a region (us, eu, au)") }
        let appID = f.string("app_id")
        let seat = f.bool("inbox_seat_required", default: false)
        guard let region else { return nil }
        return DeskParse(options: Options(region: region, appID: appID, inboxSeatRequired: seat, overridden: baseURL != nil),
                         apiBaseURL: baseURL ?? region.baseURL, scope: .teammates(inboxSeatRequired: seat))
    }

    public func source(_ config: SourceConfig, credentials: DeskCredentials, http: HTTPClient,
                       log: @escaping @Sendable (String) -> Void) throws -> any Source {
        let c: IntercomClient.Credentials
        switch credentials {
        case .accessToken(let token), .apiToken(_, let token): c = .accessToken(token)
        case .bearer(let provider): c = .bearer(provider)
        }
        let region = config.options(as: Options.self)?.region ?? .us
        return IntercomClient(settings: .init(region: region, apiBaseURL: config.apiBaseURL, credentials: c), http: http, log: log)
    }

    public func oauth(_ config: SourceConfig, clientSecret: String, redirectURL: String) throws -> any DeskOAuth {
        guard case .oauth(let clientID, _, _, _) = config.auth else { throw SourceError.malformed("auth is not oauth") }
        let overridden = config.options(as: Options.self)?.overridden ?? false
        return IntercomOAuth(clientID: clientID, clientSecret: clientSecret, redirectURL: redirectURL,
                             authorizeBaseURL: overridden ? config.apiBaseURL : "https://app.intercom.com",
                             tokenBaseURL: overridden ? config.apiBaseURL : "https://api.intercom.io")
    }
}

extension IntercomOAuth: DeskOAuth {
    /// Intercom has no PKCE; the challenge is not sent.
    public func authorizationURL(state: String, challenge: String) -> String { authorizationURL(state: state) }

    public func exchange(code: String, verifier: String) async throws -> OAuthTokens {
        OAuthTokens(accessToken: try await exchange(code: code, http: HTTPClient()), refreshToken: nil, expiresAt: nil)
    }

    /// Intercom's tokens do not expire and come without a refresh token.
    public func refresh(_ refreshToken: String) async throws -> OAuthTokens {
        throw SourceError.authBroken(status: 401, detail: "Intercom tokens are not refreshed; run `usersync intercom connect` again")
    }
}

/// Intercom's notification format: `X-Hub-Signature: sha1=HEX` over the raw body with the
/// app's client secret, no signed timestamp (reference §2); the envelope `id` deduplicates
/// and `created_at` orders; a `ping` (null id) is verified and answered, never stored.
struct IntercomWebhooks: WebhookFormat {
    func verifyHead(header: (String) -> String?, tolerance: Int, now: Double) -> String? {
        signature(header) == nil ? Self.unsigned : nil
    }

    func verify(header: (String) -> String?, body: [UInt8], secrets: [String], tolerance: Int, now: Double) -> String? {
        guard let given = signature(header) else { return Self.unsigned }
        guard !secrets.isEmpty else { return "no client secret is configured for this source" }
        for secret in secrets where IntercomSignature.isValid(header: given, secret: secret, body: body) { return nil }
        return "signature does not match"
    }

    private static let unsigned = "missing X-Hub-Signature"

    private func signature(_ header: (String) -> String?) -> String? {
        guard let given = header(IntercomSignature.header), !given.isEmpty else { return nil }
        return given
    }

    func envelope(_ body: [UInt8], config: SourceConfig) throws(WebhookRefusal) -> WebhookEnvelope {
        let e: IntercomEvent
        do { e = try IntercomEvent.decode(body) } catch { throw .malformed("\(error)") }
        if !e.isFor(appID: config.options(as: IntercomDesk.Options.self)?.appID) {
            throw .foreign("notification for workspace '\(e.appID ?? "?")', not this tenant's")
        }
        return WebhookEnvelope(eventID: e.id, type: e.topic, sourceUserID: e.admin?.id,
                               handled: IntercomEvent.Topic.handled.contains(e.topic))
    }

    func interpret(_ body: [UInt8], snapshot: LinkSnapshot?, identifier: PrimaryIdentifier) -> EventMeaning {
        guard let e = try? IntercomEvent.decode(body) else { return .noEffect("malformed notification") }
        switch e.meaning {
        case .observe(let o): return .observe(o)
        case .ignored(let note): return .noEffect(note)
        }
    }
}
