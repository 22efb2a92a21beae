import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import HTTPServer
import SyncRules
import Signing
import Webhooks

/// `GET /oauth/{source}/start?tenant=T` and `GET /oauth/{source}/callback`, for every desk
/// whose section uses OAuth.
///
/// Starting needs a bearer token with `manage_integrations` for the tenant, or a live
/// signed link from `usersync DESK connect` (a browser cannot send the header). The
/// redirect URL comes from the config only. A `state` is good for ten minutes, compared in
/// constant time, and used once.
struct OAuthRoutes {
    let service: Service

    func install(into r: inout Router) {
        let service = self.service
        r.on("GET", "/oauth/{source}/start") { req, res in
            HandlerWork.async { res.send(Self.start(service, req)) }
        }
        r.on("GET", "/oauth/{source}/callback") { req, res in
            HandlerWork.async { Self.callback(service, req, res) }
        }
    }

    private static func start(_ service: Service, _ req: HTTPRequest) -> HTTPResponse {
        guard let kind = req.parameters["source"].flatMap(SourceKind.init(rawValue:)), DeskRegistry.desk(kind) != nil else {
            return .error(404, "unknown source")
        }
        let tenant = req.head.queryValue("tenant") ?? ""
        let runtime = service.runtime(tenant)
        let config = service.currentConfig
        func oauth(_ rt: TenantRuntime) throws -> any DeskOAuth {
            try SourceFactory(log: { _ in }).oauth(kind, tenant: rt.config, redirect: OAuthFlow.redirect(rt.config, kind, config))
        }
        if let signature = req.head.queryValue("signature") {
            guard let rt = runtime, let expires = req.head.queryValue("expires").flatMap(Int64.init), let o = try? oauth(rt),
                  OAuthFlow.isValidStartLink(o, kind, tenant: tenant, expires: expires, signature: signature) else {
                return .error(403, "this link is invalid or has expired; run `usersync \(kind.rawValue) connect` for a new one")
            }
        } else if case .failure(let refusal) = AdminAuth.check(service, req, .manageIntegrations, tenant: tenant) {
            return refusal.response
        }
        guard let rt = runtime, rt.config.source(kind) != nil else { return .error(404, "unknown tenant or source not configured") }
        do {
            let url = try OAuthFlow.begin(try oauth(rt), source: kind, directory: rt.directory)
            return HTTPResponse(status: 302, headers: [("Location", url)])
        } catch {
            return .error(400, "\(error)")
        }
    }

    private static func callback(_ service: Service, _ req: HTTPRequest, _ res: Responder) {
        guard let kind = req.parameters["source"].flatMap(SourceKind.init(rawValue:)), let desk = DeskRegistry.desk(kind) else {
            return res.send(.error(404, "unknown source"))
        }
        if let denied = req.head.queryValue("error") {
            // The admin declined (or the desk refused): say so; the state stays unused until it expires.
            let detail = req.head.queryValue("error_description").map { ": \($0)" } ?? ""
            return res.send(.error(400, "\(desk.title) did not authorize the connection (\(denied)\(detail))"))
        }
        guard let code = req.head.queryValue("code"), let state = req.head.queryValue("state") else {
            return res.send(.error(400, "code and state are required"))
        }
        var match: (TenantRuntime, issuedAt: Int64, verifier: String, redirect: String?)?
        for rt in service.allRuntimes {
            guard let s = try? rt.directory.sourceState(kind), let pending = OAuthFlow.pending(s), let verifier = s.oauthVerifier,
                  SignedLink.same(state, pending.state) else { continue }
            match = (rt, pending.issuedAt, verifier, pending.redirect)
        }
        guard let (rt, issuedAt, verifier, redirect) = match else { return res.send(.error(400, "unknown or expired state")) }
        // Used once, whatever follows.
        try? rt.directory.updateSourceState(kind) { s in s.oauthState = nil }
        guard OAuthFlow.now() - issuedAt <= OAuthFlow.lifetime else {
            return res.send(.error(400, "unknown or expired state"))
        }
        let config = service.currentConfig
        Task.detached {
            do {
                let factory = SourceFactory(log: { _ in })
                let oauth = try factory.oauth(kind, tenant: rt.config, redirect: redirect ?? OAuthFlow.redirect(rt.config, kind, config))
                let tokens = try await oauth.exchange(code: code, verifier: verifier)
                let probed: (id: String, region: String?)?
                do {
                    probed = try await OAuthFlow.refuseForeign(tokens, desk: desk, tenant: rt.config, directory: rt.directory)
                } catch let e as OperationalError {
                    service.log.warn("oauth connection refused", ["tenant": rt.config.id, "source": kind.rawValue, "error": "\(e)"])
                    return res.send(.error(400, "\(e)"))
                }
                try OAuthFlow.store(tokens, source: kind, in: rt.directory)
                _ = try? await DeskCommands.recordAccount(desk, rt.config, rt.directory, factory, known: probed)
                service.log.info("\(kind.rawValue) connected", ["tenant": rt.config.id])
                // No import has completed yet (it could not without a token): start it now,
                // not when a failed run's retry comes round.
                let imported = (try? rt.directory.runs(source: kind, limit: 20))?.contains { $0.kind == .full && $0.outcome == .completed }
                if imported != true { _ = rt.sources[kind]?.scheduler?.trigger(confirmDeactivations: false) }
                let text = "\(desk.title) is connected for tenant \(rt.config.id). You can close this page.\n"
                res.send(HTTPResponse(status: 200, text: text))
            } catch {
                service.log.warn("oauth exchange failed", ["tenant": rt.config.id, "source": kind.rawValue, "error": "\(error)"])
                res.send(.error(502, "token exchange failed: \(error)"))
            }
        }
    }
}
