import Config
import HTTPClient
import Signing
import SyncRules

/// Zendesk as a desk: agents and admins (by role or custom role), thin signed webhooks that
/// often need a Show User, OAuth with PKCE and rotating refresh tokens.
public struct ZendeskDesk: Desk {
    public init() {}
    public var kind: SourceKind { .zendesk }
    public var title: String { "Zendesk" }
    public var authTypes: [String] { ["api_token", "oauth"] }
    public var defaultEvery: Int { 86_400 }
    public var webhooks: any WebhookFormat { ZendeskWebhooks() }

    /// The section's own keys: `subdomain` and `roles`.
    public struct Options: DeskOptions, Equatable {
        public var subdomain: String
        public var roles: [String]
    }

    public func parseOptions(_ f: Fields, enabled: Bool, baseURL: String?, identifier: PrimaryIdentifier) -> DeskParse? {
        var subdomain: String?
        if let raw = f.string("subdomain", required: true) {
            subdomain = Self.reduceSubdomain(raw)
            if subdomain == nil { f.fail("subdomain", "'\(raw)' is not a valid subdomain") }
        }
        let roles = f.strings("roles", integers: true)
        if let roles {
            if roles.isEmpty { f.fail("roles", "select at least one role (agent, admin, or a custom role)") }
            for r in roles where ["end-user", "end_user", "enduser"].contains(r.lowercased()) {
                f.fail("roles", "end-users are never imported; remove '\(r)'")
            }
            if roles.contains(where: { $0.allSatisfy(\.isWhitespace) }) { f.fail("roles", "a role must not be empty") }
        } else if enabled && !f.has("roles") {
            f.fail("roles", "is required: select at least one role (agent, admin, or a custom role)")
        }
        guard let subdomain else { return nil }
        return DeskParse(options: Options(subdomain: subdomain, roles: roles ?? []),
                         apiBaseURL: baseURL ?? "https://\(subdomain).zendesk.com", scope: RoleScope(roles: roles ?? []))
    }

    public func source(_ config: SourceConfig, credentials: DeskCredentials, http: HTTPClient,
                       log: @escaping @Sendable (String) -> Void) throws -> any Source {
        let c: ZendeskClient.Credentials
        switch credentials {
        case .apiToken(let email, let token): c = .apiToken(email: email, token: token)
        case .accessToken(let token): c = .bearer { token }
        case .bearer(let provider): c = .bearer(provider)
        }
        let roles = config.options(as: Options.self)?.roles ?? []
        return ZendeskClient(settings: .init(baseURL: config.apiBaseURL, credentials: c, roles: roles), http: http, log: log)
    }

    public func oauth(_ config: SourceConfig, clientSecret: String, redirectURL: String) throws -> any DeskOAuth {
        guard case .oauth(let clientID, _, _, let scope) = config.auth else { throw SourceError.malformed("auth is not oauth") }
        return ZendeskOAuth(baseURL: config.apiBaseURL, clientID: clientID, clientSecret: clientSecret, redirectURL: redirectURL,
                            scope: scope ?? "read webhooks:write")
    }

    /// A DNS label: letters, digits and inner hyphens, at most 63.
    static func isValidSubdomain(_ s: String) -> Bool {
        let u = Array(s.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
        guard (1...63).contains(u.count), alnum(u[0]), alnum(u[u.count - 1]) else { return false }
        return u.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// `abc-energy`, or a full URL `https://abc-energy.zendesk.com` reduced to `abc-energy`.
    static func reduceSubdomain(_ raw: String) -> String? {
        var s = raw.trimmedSpaces.lowercased()
        for scheme in ["https://", "http://"] where s.hasPrefix(scheme) { s.removeFirst(scheme.count) }
        if let slash = s.firstIndex(of: "/") { s = String(s[..<slash]) }
        if s.hasSuffix(".zendesk.com") { s.removeLast(".zendesk.com".count) }
        guard isValidSubdomain(s) else { return nil }
        return s
    }
}

extension ZendeskOAuth: DeskOAuth {
    public func exchange(code: String, verifier: String) async throws -> OAuthTokens {
        try await exchange(code: code, verifier: verifier, http: HTTPClient())
    }

    public func refresh(_ refreshToken: String) async throws -> OAuthTokens {
        try await refresh(refreshToken, http: HTTPClient())
    }
}

/// Zendesk's webhook format: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(timestamp +
/// body)) with `X-Zendesk-Webhook-Signature-Timestamp` within a tolerance
/// (shared/reference/zendesk-api.md §2); thin `zen:event-type:user.*` events.
struct ZendeskWebhooks: WebhookFormat {
    func verifyHead(header: (String) -> String?, tolerance: Int, now: Double) -> String? {
        if case .failure(let refusal) = signed(header: header, tolerance: tolerance, now: now) { return refusal.text }
        return nil
    }

    func verify(header: (String) -> String?, body: [UInt8], secrets: [String], tolerance: Int, now: Double) -> String? {
        let signature: String, timestamp: String
        switch signed(header: header, tolerance: tolerance, now: now) {
        case .failure(let refusal): return refusal.text
        case .success(let signed): (signature, timestamp) = signed
        }
        guard !secrets.isEmpty else { return "no webhook secret is configured for this source" }
        for secret in secrets where ZendeskSignature.isValid(signature: signature, secret: secret, timestamp: timestamp, body: body) {
            return nil
        }
        return "signature does not match"
    }

    private struct Refusal: Error { var text: String }

    /// The signature headers, each read once, with the timestamp checked against the
    /// tolerance: what both the head check and the full check start from.
    private func signed(header: (String) -> String?, tolerance: Int, now: Double)
        -> Result<(signature: String, timestamp: String), Refusal> {
        guard let signature = header("X-Zendesk-Webhook-Signature"), !signature.isEmpty,
              let timestamp = header("X-Zendesk-Webhook-Signature-Timestamp"), !timestamp.isEmpty else {
            return .failure(Refusal(text: "missing signature headers"))
        }
        guard let ts = Timestamp(iso8601: timestamp) else { return .failure(Refusal(text: "signature timestamp is not ISO-8601")) }
        guard abs(Double(ts.nanoseconds) / 1e9 - now) <= Double(tolerance) else {
            return .failure(Refusal(text: "signature timestamp outside tolerance"))
        }
        return .success((signature, timestamp))
    }

    func envelope(_ body: [UInt8], config: SourceConfig) throws(WebhookRefusal) -> WebhookEnvelope {
        let e: ZendeskEvent
        do { e = try ZendeskEvent.envelope(body) } catch { throw .malformed("\(error)") }
        return WebhookEnvelope(eventID: e.id, type: e.type, sourceUserID: e.userID, handled: ZendeskEventInterpreter.isHandled(e.type))
    }

    func interpret(_ body: [UInt8], snapshot: LinkSnapshot?, identifier: PrimaryIdentifier) -> EventMeaning {
        guard let e = try? ZendeskEvent.decode(body) else { return .noEffect("malformed event") }
        return ZendeskEventInterpreter.interpret(e, snapshot: snapshot, identifier: identifier)
    }
}
