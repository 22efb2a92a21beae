import Config
import Desks
import Directory
import FoundationEssentials
import SyncRules
import Signing
import Webhooks

/// The rules around starting an OAuth connection, shared by `DESK connect` and `serve`:
/// where the desk sends the admin back (from the config only, never from a request's
/// `Host`), how long a started authorization stays good, and the signed start link.
extension OAuthFlow {
    /// Seconds an authorization's `state` (and a signed start link) stays valid.
    static let lifetime: Int64 = 600

    static func startPurpose(_ kind: SourceKind) -> String { "oauth-start:\(kind.rawValue)" }

    /// The redirect URL: the tenant's `redirect_url`, else the callback on `admin_listen`
    /// (or `listen` when there is no admin port).
    static func redirect(_ tenant: TenantConfig, _ kind: SourceKind, _ config: UsersyncConfig) -> String {
        if case .oauth(_, _, let configured?, _)? = tenant.source(kind)?.auth { return configured }
        return "http://\(config.adminListen ?? config.listen)/oauth/\(kind.rawValue)/callback"
    }

    /// The `state` stored by `begin`, when it was issued, and the redirect URL the
    /// authorization asked for (the token request must repeat it exactly, RFC 6749 §4.1.3,
    /// whoever receives the callback). They share one column, `STATE.ISSUED_AT` then, after
    /// a newline, the redirect (a state is base64url, so it holds no dot); a value without
    /// the time (stored by an older version) counts as expired, one without the redirect
    /// uses the configured one.
    static func pending(_ s: SourceState) -> (state: String, issuedAt: Int64, redirect: String?)? {
        guard let value = s.oauthState else { return nil }
        let parts = value.split(separator: "\n", maxSplits: 1).map(String.init)
        let stored = parts.first ?? ""
        let redirect = parts.count > 1 ? parts[1] : nil
        guard let dot = stored.lastIndex(of: "."), let at = Int64(stored[stored.index(after: dot)...]) else {
            return (stored, 0, redirect)
        }
        return (String(stored[..<dot]), at, redirect)
    }

    static func stored(state: String, issuedAt: Int64, redirect: String? = nil) -> String {
        "\(state).\(issuedAt)" + (redirect.map { "\n" + $0 } ?? "")
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// A link to `serve`'s `/oauth/DESK/start` that works without a bearer token until it
    /// expires, signed with a key derived from the tenant's client secret.
    static func startLink(_ oauth: any DeskOAuth, _ kind: SourceKind, tenant: String, redirect: String,
                          now: Int64 = now()) -> String {
        let expires = now + lifetime
        let signature = SignedLink(secret: oauth.clientSecret).signature(purpose: startPurpose(kind), subject: tenant, expires: expires)
        return "\(origin(of: redirect))/oauth/\(kind.rawValue)/start?tenant=\(tenant)&expires=\(expires)&signature=\(signature)"
    }

    /// True when `signature` is a live start link for `tenant`.
    static func isValidStartLink(_ oauth: any DeskOAuth, _ kind: SourceKind, tenant: String, expires: Int64,
                                 signature: String) -> Bool {
        guard expires <= now() + lifetime else { return false }
        return SignedLink(secret: oauth.clientSecret).isValid(signature: signature, purpose: startPurpose(kind), subject: tenant,
                                                              expires: expires, now: now())
    }

    /// `scheme://host[:port]` of a URL.
    static func origin(of url: String) -> String {
        let parts = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0].hasSuffix(":"), parts[1].isEmpty else { return url }
        return parts[0...2].joined(separator: "/")
    }
}
