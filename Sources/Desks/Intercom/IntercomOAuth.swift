import HTTPClient
import JSON

/// Intercom's OAuth authorization-code flow for public apps. The admin is sent to
/// `https://app.intercom.com/oauth?client_id&state&redirect_uri`; the code that comes back
/// (valid about 5 minutes) is POSTed with the client id and secret to
/// `https://api.intercom.io/auth/eagle/token`
/// (https://intercom-developer-hub.readme.io/reference/using-oauth,
/// https://developers.intercom.com/docs/build-an-integration/learn-more/authentication/setting-up-oauth).
/// Scopes are ticked on the app's page, not sent; the token does not expire and no refresh
/// token is issued (reference §1.2, third-party note).
public struct IntercomOAuth: Sendable {
    public var clientID: String
    public var clientSecret: String
    public var redirectURL: String
    /// Where the admin authorizes: Intercom's app site, or a simulator.
    public var authorizeBaseURL: String
    /// Where the code is exchanged: Intercom's API host, or a simulator.
    public var tokenBaseURL: String

    public init(clientID: String, clientSecret: String, redirectURL: String,
                authorizeBaseURL: String = "https://app.intercom.com", tokenBaseURL: String = "https://api.intercom.io") {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.redirectURL = redirectURL
        self.authorizeBaseURL = authorizeBaseURL
        self.tokenBaseURL = tokenBaseURL
    }

    /// The URL to send an admin to; `state` comes back with the code (CSRF protection).
    public func authorizationURL(state: String) -> String {
        func q(_ s: String) -> String { QueryEncoding.escape(s) }
        return "\(authorizeBaseURL)/oauth?client_id=\(q(clientID))&state=\(q(state))&redirect_uri=\(q(redirectURL))"
    }

    /// Trades `code` for the workspace's access token.
    public func exchange(code: String, http: HTTPClient = HTTPClient()) async throws -> String {
        func q(_ s: String) -> String { QueryEncoding.escape(s) }
        let form = "code=\(q(code))&client_id=\(q(clientID))&client_secret=\(q(clientSecret))"
        let request = ClientRequest(method: "POST", url: "\(tokenBaseURL)/auth/eagle/token",
                                    headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                                    body: Array(form.utf8))
        return try await RetryPolicy().run(http, request, what: "intercom oauth token", log: { _ in }) { r in
            var token: String?
            try ZendeskDecoding.reading(r.body) { reader in
                try reader.readObject { r, key in
                    // Intercom answers `access_token` (and the older `token`) with `token_type: Bearer`.
                    if key == "access_token" { token = try r.readOptionalString() ?? token }
                    else if key == "token", token == nil { token = try r.readOptionalString() }
                }
            }
            guard let token, !token.isEmpty else { throw SourceError.malformed("token response without access_token") }
            return token
        }
    }
}
