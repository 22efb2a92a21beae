import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import HTTPClient
import SyncRules

/// `DESK connect` (OAuth) and `DESK install-webhook`, for every registered desk.
enum DeskCommands {
    static func run(_ desk: any Desk, _ words: [String], _ ctx: inout Context) async throws {
        let name = desk.kind.rawValue
        guard let verb = words.first else { throw UsageError("usage: usersync \(name) connect|install-webhook (see --help)") }
        let tenant = try ctx.tenant()
        let directory = try ctx.directory(tenant)
        let console = ctx.console
        let factory = SourceFactory(log: { console.error($0) })
        switch verb {
        case "connect":
            let redirect = ctx.args.value("--redirect-url")
            let code = ctx.args.value("--code")
            try ctx.args.rejectUnknown(words: 2)
            let served = OAuthFlow.redirect(tenant, desk.kind, ctx.config)
            let oauth = try factory.oauth(desk.kind, tenant: tenant, redirect: redirect ?? served)
            if let code {
                let state = try directory.sourceState(desk.kind)
                guard let verifier = state.oauthVerifier else {
                    throw OperationalError("tenant \(tenant.id): no authorization in progress; run `usersync \(name) connect` first")
                }
                // The redirect the authorization asked for, whatever this call was given.
                let exchanger = try OAuthFlow.pending(state)?.redirect.map {
                    try factory.oauth(desk.kind, tenant: tenant, redirect: $0)
                } ?? oauth
                let tokens = try await exchanger.exchange(code: code, verifier: verifier)
                let probed = try await OAuthFlow.refuseForeign(tokens, desk: desk, tenant: tenant, directory: directory)
                try OAuthFlow.store(tokens, source: desk.kind, in: directory)
                let expiry = tokens.expiresAt.map { "token expires at \(Date(timeIntervalSince1970: TimeInterval($0)))" }
                    ?? "token does not expire"
                console.print("tenant \(tenant.id): connected to \(desk.title) (\(expiry))")
                if let account = try await recordAccount(desk, tenant, directory, factory, known: probed) {
                    console.print("tenant \(tenant.id): \(account)")
                }
            } else {
                let url = try OAuthFlow.begin(oauth, source: desk.kind, directory: directory)
                console.print("Open this URL as a \(desk.title) admin and click Allow:\n\n  \(url)\n")
                console.print("Then finish with: usersync \(name) connect --tenant \(tenant.id) --code CODE")
                console.print("(or let `usersync serve` receive the callback at \(oauth.redirectURL)).")
                let link = OAuthFlow.startLink(try factory.oauth(desk.kind, tenant: tenant, redirect: served), desk.kind,
                                               tenant: tenant.id, redirect: served)
                console.print("\nOr let `usersync serve` start it; this link works for 10 minutes, without a token:\n\n  \(link)\n")
            }
        case "install-webhook":
            guard let url = ctx.args.value("--url") else {
                throw UsageError("\(name) install-webhook needs --url (the public URL of /webhooks/\(name)/\(tenant.id))")
            }
            let rotate = ctx.args.flag("--rotate")
            try ctx.args.rejectUnknown(words: 2)
            let client = try factory.source(desk.kind, tenant: tenant, directory: directory)
            let (id, secret) = try await client.installWebhook(endpoint: url, rotate: rotate)
            try directory.installWebhookSecret(source: desk.kind, webhookID: id, secret: secret)
            console.print("tenant \(tenant.id): webhook \(id) installed for \(url); its signing secret is stored in the tenant database")
        default:
            throw UsageError("unknown \(name) command '\(verb)' (connect, install-webhook)")
        }
    }

    /// Keeps whose account the new token belongs to: `known` when `refuseForeign` already
    /// asked the desk, else the desk's answer now.
    static func recordAccount(_ desk: any Desk, _ tenant: TenantConfig, _ directory: TenantDirectory,
                              _ factory: SourceFactory, known: (id: String, region: String?)? = nil) async throws -> String? {
        var account = known
        if account == nil { account = try await factory.source(desk.kind, tenant: tenant, directory: directory).account() }
        guard let (id, region) = account else { return nil }
        try directory.updateSourceState(desk.kind) { s in
            s.accountID = id
            s.accountRegion = region
        }
        return "account \(id)\(region.map { " (region \($0))" } ?? "")"
    }

}

/// The two halves of the authorization-code flow, shared by the CLI and the HTTP callback.
enum OAuthFlow {
    /// Starts an authorization: stores state and PKCE verifier, returns the URL.
    static func begin(_ oauth: any DeskOAuth, source: SourceKind, directory: TenantDirectory) throws -> String {
        let state = PKCE.randomToken(bytes: 16)
        let verifier = PKCE.randomToken(bytes: 32)
        try directory.updateSourceState(source) { s in
            s.oauthState = stored(state: state, issuedAt: now(), redirect: oauth.redirectURL)
            s.oauthVerifier = verifier
        }
        return oauth.authorizationURL(state: state, challenge: try PKCE.challenge(for: verifier))
    }

    /// Refuses, before anything is stored, a token for another account than the section
    /// names (Intercom's `app_id`): stored even for a moment, a scheduler could list that
    /// workspace's teammates into the tenant. The refusal is recorded as broken auth.
    /// Returns the account the desk named (nil when none is configured to check against).
    @discardableResult
    static func refuseForeign(_ tokens: OAuthTokens, desk: any Desk, tenant: TenantConfig,
                              directory: TenantDirectory) async throws -> (id: String, region: String?)? {
        guard let section = tenant.source(desk.kind), let expected = desk.configuredAccount(section) else { return nil }
        let probe = try desk.source(section, credentials: .accessToken(tokens.accessToken), http: HTTPClient(), log: { _ in })
        guard let account = try await probe.account() else { return nil }
        let id = account.id
        guard id != expected else { return account }
        let problem = "the token is for \(desk.title) workspace '\(id)', not the configured app_id '\(expected)'"
        try directory.updateSourceState(desk.kind) { s in
            s.oauthState = nil
            s.oauthVerifier = nil
            s.authBroken = true
            s.authError = problem
        }
        throw OperationalError("tenant \(tenant.id): \(problem); it was not kept")
    }

    static func store(_ tokens: OAuthTokens, source: SourceKind, in directory: TenantDirectory) throws {
        try directory.updateSourceState(source) { s in
            s.oauthAccessToken = tokens.accessToken
            s.oauthRefreshToken = tokens.refreshToken
            s.oauthExpiresAt = tokens.expiresAt
            s.oauthState = nil
            s.oauthVerifier = nil
            s.authBroken = false
            s.authError = nil
        }
    }
}
