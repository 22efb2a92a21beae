import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials

/// `zendesk connect` (OAuth with PKCE) and `zendesk install-webhook`.
enum ZendeskCommands {
    static func run(_ words: [String], _ ctx: inout Context) async throws {
        guard let verb = words.first else { throw UsageError("usage: usersync zendesk connect|install-webhook (see --help)") }
        let tenant = try ctx.tenant()
        let directory = try ctx.directory(tenant)
        let console = ctx.console
        switch verb {
        case "connect":
            let redirect = ctx.args.value("--redirect-url")
            let code = ctx.args.value("--code")
            try ctx.args.rejectUnknown()
            let oauth = try SourceFactory(log: { console.error($0) }).oauth(tenant, redirect: redirect ?? OAuthFlow.redirect(tenant, ctx.config))
            if let code {
                let state = try directory.sourceState(.zendesk)
                guard let verifier = state.oauthVerifier else {
                    throw OperationalError("tenant \(tenant.id): no authorization in progress; run `usersync zendesk connect` first")
                }
                let tokens = try await oauth.exchange(code: code, verifier: verifier)
                try OAuthFlow.store(tokens, in: directory)
                console.print("tenant \(tenant.id): connected to Zendesk (\(tokens.expiresAt.map { "token expires at \(Date(timeIntervalSince1970: TimeInterval($0)))" } ?? "token does not expire"))")
            } else {
                let url = try OAuthFlow.begin(oauth, directory: directory)
                console.print("Open this URL as a Zendesk admin and click Allow:\n\n  \(url)\n")
                console.print("Then finish with: usersync zendesk connect --tenant \(tenant.id) --code CODE")
                console.print("(or let `usersync serve` receive the callback at \(oauth.redirectURL)).")
                let served = OAuthFlow.redirect(tenant, ctx.config)
                let link = OAuthFlow.startLink(try SourceFactory(log: { _ in }).oauth(tenant, redirect: served), tenant: tenant.id, redirect: served)
                console.print("\nOr let `usersync serve` start it; this link works for 10 minutes, without a token:\n\n  \(link)\n")
            }
        case "install-webhook":
            guard let url = ctx.args.value("--url") else { throw UsageError("zendesk install-webhook needs --url (the public URL of /webhooks/zendesk/\(tenant.id))") }
            try ctx.args.rejectUnknown()
            let client = try SourceFactory(log: { console.error($0) }).zendesk(tenant, directory: directory)
            let (id, secret) = try await client.installWebhook(endpoint: url)
            try directory.updateSourceState(.zendesk) { s in
                s.webhookID = id
                s.webhookSecret = secret
            }
            console.print("tenant \(tenant.id): webhook \(id) installed for \(url); its signing secret is stored in the tenant database")
        default:
            throw UsageError("unknown zendesk command '\(verb)' (connect, install-webhook)")
        }
    }
}

/// The two halves of the authorization-code flow, shared by the CLI and the HTTP callback.
enum OAuthFlow {
    /// Starts an authorization: stores state and PKCE verifier, returns the URL.
    static func begin(_ oauth: ZendeskOAuth, directory: TenantDirectory) throws -> String {
        let state = ZendeskOAuth.randomToken(bytes: 16)
        let verifier = ZendeskOAuth.randomToken(bytes: 32)
        try directory.updateSourceState(.zendesk) { s in
            s.oauthState = stored(state: state, issuedAt: now())
            s.oauthVerifier = verifier
        }
        return oauth.authorizationURL(state: state, challenge: ZendeskOAuth.challenge(for: verifier))
    }

    static func store(_ tokens: ZendeskOAuth.Tokens, in directory: TenantDirectory) throws {
        try directory.updateSourceState(.zendesk) { s in
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

