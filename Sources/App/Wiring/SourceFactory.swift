import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import HTTPClient
import SyncRules

/// Builds a tenant's `Source` clients from its config: resolves secrets, and for OAuth
/// hands the client a token provider that refreshes (and rotates) tokens stored in the
/// tenant's database.
struct SourceFactory {
    let log: @Sendable (String) -> Void

    func zendesk(_ tenant: TenantConfig, directory: TenantDirectory, http: HTTPClient = HTTPClient()) throws -> ZendeskClient {
        guard let z = tenant.zendesk else { throw OperationalError("tenant \(tenant.id): zendesk is not configured") }
        let credentials: ZendeskClient.Credentials
        switch z.auth {
        case .apiToken(let email, let token):
            do {
                credentials = .apiToken(email: email, token: try token.resolve())
            } catch {
                throw OperationalError("tenant \(tenant.id): zendesk.auth.token: \(error)")
            }
        case .oauth:
            let oauth = try self.oauth(tenant, redirect: nil)
            let tokens = OAuthTokenStore.shared(directory: directory, oauth: oauth, tenant: tenant.id)
            credentials = .bearer { try await tokens.accessToken() }
        }
        return ZendeskClient(settings: ZendeskClient.Settings(baseURL: z.apiBaseURL, credentials: credentials, roles: z.roles),
                             http: http, log: log)
    }

    func oauth(_ tenant: TenantConfig, redirect: String?) throws -> ZendeskOAuth {
        guard let z = tenant.zendesk, case .oauth(let clientID, let secretRef, let configured, let scope) = z.auth else {
            throw OperationalError("tenant \(tenant.id): zendesk.auth.type is not 'oauth'")
        }
        let secret: String
        do { secret = try secretRef.resolve() } catch {
            throw OperationalError("tenant \(tenant.id): zendesk.auth.client_secret: \(error)")
        }
        return ZendeskOAuth(baseURL: z.apiBaseURL, clientID: clientID, clientSecret: secret,
                            redirectURL: redirect ?? configured ?? "http://127.0.0.1:8080/oauth/zendesk/callback", scope: scope)
    }
}

