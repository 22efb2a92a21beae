import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import HTTPClient
import SyncRules

/// Builds a tenant's desk clients from its config: resolves secrets, and for OAuth hands
/// the client a token provider that refreshes (and rotates) tokens stored in the tenant's
/// database. Desk-agnostic: what differs per desk comes from `Desk`.
struct SourceFactory {
    let log: @Sendable (String) -> Void

    func source(_ kind: SourceKind, tenant: TenantConfig, directory: TenantDirectory, http: HTTPClient = HTTPClient()) throws -> any Source {
        let (desk, section) = try Self.section(kind, tenant)
        let credentials: DeskCredentials
        switch section.auth {
        case .apiToken(let email, let token):
            credentials = .apiToken(email: email, token: try resolve(token, tenant, kind, "auth.token"))
        case .accessToken(let token):
            credentials = .accessToken(try resolve(token, tenant, kind, "auth.token"))
        case .oauth:
            let tokens = OAuthTokenStore.shared(directory: directory, oauth: try oauth(kind, tenant: tenant, redirect: nil),
                                                source: kind, tenant: tenant.id)
            credentials = .bearer { try await tokens.accessToken() }
        }
        return try desk.source(section, credentials: credentials, http: http, log: log)
    }

    func oauth(_ kind: SourceKind, tenant: TenantConfig, redirect: String?) throws -> any DeskOAuth {
        let (desk, section) = try Self.section(kind, tenant)
        guard case .oauth(_, let secretRef, let configured, _) = section.auth else {
            // Asking to connect a source configured with a token is a mistake in the call.
            throw UsageError("tenant \(tenant.id): \(kind.rawValue).auth.type is not 'oauth'; there is nothing to connect")
        }
        let secret = try resolve(secretRef, tenant, kind, "auth.client_secret")
        return try desk.oauth(section, clientSecret: secret,
                              redirectURL: redirect ?? configured ?? "http://127.0.0.1:8080/oauth/\(kind.rawValue)/callback")
    }

    static func section(_ kind: SourceKind, _ tenant: TenantConfig) throws -> (any Desk, SourceConfig) {
        guard let desk = DeskRegistry.desk(kind), let section = tenant.source(kind) else {
            throw OperationalError("tenant \(tenant.id): \(kind.rawValue) is not configured")
        }
        return (desk, section)
    }

    private func resolve(_ ref: SecretRef, _ tenant: TenantConfig, _ kind: SourceKind, _ key: String) throws -> String {
        do { return try ref.resolve() } catch {
            throw OperationalError("tenant \(tenant.id): \(kind.rawValue).\(key): \(error)")
        }
    }
}
