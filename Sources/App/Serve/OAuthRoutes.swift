import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import HTTPServer
import Webhooks

/// `GET /oauth/zendesk/start?tenant=T` and `GET /oauth/zendesk/callback`.
///
/// Starting needs a bearer token with `manage_integrations` for the tenant, or a live
/// signed link from `usersync zendesk connect` (a browser cannot send the header). The
/// redirect URL comes from the config only. A `state` is good for ten minutes, compared in
/// constant time, and used once.
struct OAuthRoutes {
    let service: Service

    func install(into r: inout Router) {
        let service = self.service
        r.on("GET", "/oauth/zendesk/start") { req, res in
            DispatchQueue.global().async { res.send(Self.start(service, req)) }
        }
        r.on("GET", "/oauth/zendesk/callback") { req, res in
            DispatchQueue.global().async { Self.callback(service, req, res) }
        }
    }

    private static func start(_ service: Service, _ req: HTTPRequest) -> HTTPResponse {
        let tenant = req.head.queryValue("tenant") ?? ""
        let runtime = service.runtime(tenant)
        let config = service.currentConfig
        func oauth(_ rt: TenantRuntime) throws -> ZendeskOAuth {
            try SourceFactory(log: { _ in }).oauth(rt.config, redirect: OAuthFlow.redirect(rt.config, config))
        }
        if let signature = req.head.queryValue("signature") {
            guard let rt = runtime, let expires = req.head.queryValue("expires").flatMap(Int64.init), let o = try? oauth(rt),
                  OAuthFlow.isValidStartLink(o, tenant: tenant, expires: expires, signature: signature) else {
                return .error(403, "this link is invalid or has expired; run `usersync zendesk connect` for a new one")
            }
        } else if case .failure(let refusal) = AdminAuth.check(service, req, .manageIntegrations, tenant: tenant) {
            return refusal.response
        }
        guard let rt = runtime else { return .error(404, "unknown tenant") }
        do {
            let url = try OAuthFlow.begin(try oauth(rt), directory: rt.directory)
            return HTTPResponse(status: 302, headers: [("Location", url)])
        } catch {
            return .error(400, "\(error)")
        }
    }

    private static func callback(_ service: Service, _ req: HTTPRequest, _ res: Responder) {
        guard let code = req.head.queryValue("code"), let state = req.head.queryValue("state") else {
            return res.send(.error(400, "code and state are required"))
        }
        var match: (TenantRuntime, issuedAt: Int64, verifier: String)?
        for rt in service.allRuntimes {
            guard let s = try? rt.directory.sourceState(.zendesk), let pending = OAuthFlow.pending(s), let verifier = s.oauthVerifier,
                  SignedLink.same(state, pending.state) else { continue }
            match = (rt, pending.issuedAt, verifier)
        }
        guard let (rt, issuedAt, verifier) = match else { return res.send(.error(400, "unknown or expired state")) }
        // Used once, whatever follows.
        try? rt.directory.updateSourceState(.zendesk) { s in s.oauthState = nil }
        guard OAuthFlow.now() - issuedAt <= OAuthFlow.lifetime else {
            return res.send(.error(400, "unknown or expired state"))
        }
        let config = service.currentConfig
        Task.detached {
            do {
                let oauth = try SourceFactory(log: { _ in }).oauth(rt.config, redirect: OAuthFlow.redirect(rt.config, config))
                try OAuthFlow.store(try await oauth.exchange(code: code, verifier: verifier), in: rt.directory)
                service.log.info("zendesk connected", ["tenant": rt.config.id])
                res.send(HTTPResponse(status: 200, text: "Zendesk is connected for tenant \(rt.config.id). You can close this page.\n"))
            } catch {
                service.log.warn("zendesk oauth exchange failed", ["tenant": rt.config.id, "error": "\(error)"])
                res.send(.error(502, "token exchange failed: \(error)"))
            }
        }
    }
}
