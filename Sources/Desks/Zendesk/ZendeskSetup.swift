import CCrypto
import FoundationEssentials
import HTTPClient
import JSON
import Signing

/// The user event types usersync subscribes to (shared/reference/zendesk-api.md §1.3, §7;
/// always with a colon: the docs' slash form is a typo).
public enum ZendeskEventTypes {
    public static let subscribed = [
        "zen:event-type:user.created", "zen:event-type:user.deleted", "zen:event-type:user.active_changed",
        "zen:event-type:user.suspended_changed", "zen:event-type:user.role_changed",
        "zen:event-type:user.custom_role_changed", "zen:event-type:user.name_changed",
        "zen:event-type:user.identity_created", "zen:event-type:user.identity_changed",
        "zen:event-type:user.identity_deleted", "zen:event-type:user.external_id_changed",
        "zen:event-type:user.custom_field_changed", "zen:event-type:user.merged",
    ]
}

extension ZendeskClient {
    /// Installs the webhook subscribed to the user events, named "usersync users", as the
    /// overload below describes, and returns (id, signing secret).
    public func installWebhook(endpoint: String, rotate: Bool) async throws -> (id: String, secret: String) {
        try await installWebhook(endpoint: endpoint, name: "usersync users", rotate: rotate)
    }

    /// Idempotent, as reference §7 describes: the account's webhooks whose name contains
    /// `name` (Zendesk's `filter[name_contains]`) and with this endpoint are looked up; the
    /// first is realigned (PUT) and its secret read again, or reset with `rotate` (the old
    /// one keeps verifying here for the overlap); any others are deleted; with none, one is
    /// created (POST) and its secret read. Re-running never
    /// leaves a second webhook delivering every event, nor, without `rotate`, an instance
    /// that did not run it with a secret it does not know.
    public func installWebhook(endpoint: String, name: String, rotate: Bool) async throws -> (id: String, secret: String) {
        let subs = ZendeskEventTypes.subscribed.map { JSONWriter.quote($0) }.joined(separator: ",")
        let body = Array("""
        {"webhook":{"name":\(JSONWriter.quote(name)),"status":"active","endpoint":\(JSONWriter.quote(endpoint)),\
        "http_method":"POST","request_format":"json","subscriptions":[\(subs)],"description":"Managed by usersync - do not edit"}}
        """.utf8)
        let base = "\(settings.baseURL)/api/v2/webhooks"
        let existing = try await webhooks(named: name).filter { $0.endpoint == endpoint }.map(\.id)
        guard let keep = existing.first else {
            let id: String = try await call(base, method: "POST", body: body, what: "create webhook") { r in
                guard let id = try Self.webhookID(r.body) else { throw SourceError.malformed("webhook response without an id") }
                return id
            }
            return (id, try await signingSecret(id, reset: false))
        }
        _ = try await call("\(base)/\(keep)", method: "PUT", body: body, what: "update webhook") { _ in () }
        for duplicate in existing.dropFirst() {
            _ = try await call("\(base)/\(duplicate)", method: "DELETE", what: "delete duplicate webhook", passing: [404]) { _ in () }
        }
        return (keep, try await signingSecret(keep, reset: rotate))
    }

    /// The account's webhooks whose name contains `name`: (id, endpoint), every page.
    func webhooks(named name: String) async throws -> [(id: String, endpoint: String)] {
        var out: [(id: String, endpoint: String)] = []
        let first = "\(settings.baseURL)/api/v2/webhooks?filter%5Bname_contains%5D=\(QueryEncoding.escape(name))&page%5Bsize%5D=100"
        var url: String? = first
        while let next = url {
            url = nil
            let page: (hooks: [(id: String, endpoint: String)], after: String?) = try await call(next, what: "list webhooks") { r in
                var hooks: [(id: String, endpoint: String)] = []
                var hasMore = false
                var after: String?
                try ZendeskDecoding.reading(r.body) { reader in
                    try reader.readObject { r, key in
                        if key == "webhooks" {
                            try r.readArray { r in
                                var id: String?, hookEndpoint = ""
                                try r.readObject { r, key in
                                    if key == "id" { id = try r.readScalarText() }
                                    else if key == "endpoint" { hookEndpoint = try r.readOptionalString() ?? "" }
                                }
                                if let id { hooks.append((id, hookEndpoint)) }
                            }
                        } else if key == "meta" {
                            guard try r.peek() == .object else { return try r.skipValue() }
                            try r.readObject { r, key in
                                if key == "has_more" { hasMore = try r.readNull() ? false : try r.readBool() }
                                else if key == "after_cursor" { after = try r.readScalarText() }
                            }
                        }
                    }
                }
                return (hooks, hasMore ? after : nil)
            }
            out += page.hooks
            if let after = page.after { url = first + "&page%5Bafter%5D=\(QueryEncoding.escape(after))" }
        }
        return out
    }

    /// GET reads the webhook's signing secret; POST resets it and returns the new one (§2.3).
    private func signingSecret(_ id: String, reset: Bool) async throws -> String {
        try await call("\(settings.baseURL)/api/v2/webhooks/\(id)/signing_secret", method: reset ? "POST" : "GET",
                       what: reset ? "webhook signing secret reset" : "webhook signing secret") { r in
            var secret: String?
            try ZendeskDecoding.reading(r.body) { reader in
                try reader.readObject { r, key in
                    guard key == "signing_secret" else { return }
                    try r.readObject { r, key in if key == "secret" { secret = try r.readOptionalString() } }
                }
            }
            guard let secret else { throw SourceError.malformed("signing secret response without a secret") }
            return secret
        }
    }

    private static func webhookID(_ body: [UInt8]) throws -> String? {
        var id: String?
        try ZendeskDecoding.reading(body) { reader in
            try reader.readObject { r, key in
                guard key == "webhook" else { return }
                try r.readObject { r, key in if key == "id" { id = try r.readScalarText() } }
            }
        }
        return id
    }
}

/// Zendesk's OAuth authorization-code flow with PKCE and refresh-token rotation
/// (shared/reference/zendesk-api.md §6.2: the code lives 120 s; a refresh returns a new
/// access *and* refresh token and invalidates both old ones).
public struct ZendeskOAuth: Sendable {
    public var baseURL: String
    public var clientID: String
    public var clientSecret: String
    public var redirectURL: String
    public var scope: String

    public init(baseURL: String, clientID: String, clientSecret: String, redirectURL: String, scope: String) {
        self.baseURL = baseURL
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.redirectURL = redirectURL
        self.scope = scope
    }

    public typealias Tokens = OAuthTokens

    /// The URL to send an admin to (PKCE S256 with `challenge`).
    public func authorizationURL(state: String, challenge: String) -> String {
        func q(_ s: String) -> String { QueryEncoding.escape(s) }
        return "\(baseURL)/oauth/authorizations/new?response_type=code&client_id=\(q(clientID))&redirect_uri=\(q(redirectURL))"
            + "&scope=\(q(scope))&state=\(q(state))&code_challenge=\(q(challenge))&code_challenge_method=S256"
    }

    public func exchange(code: String, verifier: String, http: HTTPClient = HTTPClient()) async throws -> Tokens {
        try await token([("grant_type", "authorization_code"), ("code", code), ("client_id", clientID),
                         ("client_secret", clientSecret), ("redirect_uri", redirectURL), ("scope", scope),
                         ("code_verifier", verifier)], http: http)
    }

    /// One refresh attempt, never retried here: Zendesk rotates both tokens on refresh and
    /// invalidates the old ones (shared/reference/zendesk-api.md §6), so a request whose
    /// answer was lost may have spent `refreshToken`; the caller decides what to do.
    public func refresh(_ refreshToken: String, http: HTTPClient = HTTPClient()) async throws -> Tokens {
        var once = RetryPolicy()
        once.maxAttempts = 1
        once.maxRateLimitWaits = 0
        return try await token([("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", clientID),
                                ("client_secret", clientSecret), ("scope", scope)], http: http, retry: once)
    }

    private func token(_ fields: [(String, String)], http: HTTPClient, retry: RetryPolicy = RetryPolicy()) async throws -> Tokens {
        let body = "{" + fields.map { "\(JSONWriter.quote($0.0)):\(JSONWriter.quote($0.1))" }.joined(separator: ",") + "}"
        let request = ClientRequest(method: "POST", url: "\(baseURL)/oauth/tokens",
                                    headers: [("Content-Type", "application/json"), ("Accept", "application/json")], body: Array(body.utf8))
        return try await retry.run(http, request, what: "oauth token", log: { _ in }) { r in
            var access: String?
            var refresh: String?
            var expiresIn: Int64?
            try ZendeskDecoding.reading(r.body) { reader in
                try reader.readObject { r, key in
                    if key == "access_token" { access = try r.readOptionalString() }
                    else if key == "refresh_token" { refresh = try r.readOptionalString() }
                    else if key == "expires_in" { expiresIn = try r.readScalarText().flatMap { Int64($0) } }
                }
            }
            guard let access else { throw SourceError.malformed("token response without access_token") }
            return Tokens(accessToken: access, refreshToken: refresh,
                          expiresAt: expiresIn.map { Int64(Date().timeIntervalSince1970) + $0 })
        }
    }
}
