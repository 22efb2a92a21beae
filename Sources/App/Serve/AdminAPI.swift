import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import HTTPServer
import SyncRules

/// The admin API: bearer tokens with `manage_users` / `manage_integrations`, optionally
/// scoped to tenants. 401 without a valid token, 403 without the permission or tenant.
/// Work runs off the event loop (queries and JSON can be large).
struct AdminAPI {
    let service: Service

    func install(into r: inout Router) {
        on(&r, "GET", "/api/tenants/{t}/users", .manageUsers) { req, rt in
            var status: LocalUser.Status?
            if let raw = req.head.queryValue("status") {
                guard let s = LocalUser.Status(rawValue: raw) else { return .error(400, "status must be pending, active or deactivated") }
                status = s
            }
            let users = try rt.directory.users(status: status)
            return .json(200, JSONText.array(users.map { Render.user($0, tenant: rt.config.id) }).render())
        }
        on(&r, "POST", "/api/tenants/{t}/users/{id}/activate", .manageUsers) { req, rt in
            guard let id = Int64(req.parameters["id"] ?? "") else { return .error(404, "no such user") }
            do {
                let cause = Cause.admin("api:\(req.parameters["token"] ?? "")")
                let rec = try rt.directory.activate(id: id, licenceLimit: rt.config.licenceLimit, cause: cause)
                return .json(200, Render.user(rec, tenant: rt.config.id).render())
            } catch let e as DirectoryError where e.isUserError {
                if case .noSuchUser = e.reason { return .error(404, e.message) }
                return .error(409, e.message)
            }
        }
        on(&r, "POST", "/api/tenants/{t}/users/{id}/deactivate", .manageUsers) { req, rt in
            guard let id = Int64(req.parameters["id"] ?? "") else { return .error(404, "no such user") }
            do {
                let cause = Cause.admin("api:\(req.parameters["token"] ?? "")")
                let rec = try rt.directory.deactivate(id: id, reason: req.head.queryValue("reason"), cause: cause)
                return .json(200, Render.user(rec, tenant: rt.config.id).render())
            } catch let e as DirectoryError where e.isUserError {
                return .error(404, e.message)
            }
        }
        on(&r, "GET", "/api/tenants/{t}/agents/resolve", .manageUsers) { req, rt in
            let named = req.head.queryValue("source")
            let source = named.flatMap(SourceKind.init(rawValue:)) ?? rt.config.sources.first?.kind ?? DeskRegistry.all[0].kind
            if let named, SourceKind(rawValue: named) == nil {
                return .error(400, "source must be " + DeskRegistry.all.map(\.kind.rawValue).joined(separator: " or "))
            }
            let id = req.head.queryValue("id")
            let email = req.head.queryValue("email")
            guard id != nil || email != nil else { return .error(400, "id or email is required") }
            let identifier = rt.config.source(source)?.settings.identifier ?? .defaultMatching
            switch try rt.directory.resolveAgent(source: source, sourceUserID: id, email: email, identifier: identifier) {
            case .found(let user, let via):
                guard let rec = try rt.directory.user(id: user.id), case .object(var pairs) = Render.user(rec, tenant: rt.config.id) else {
                    return .error(404, "no local user matches")
                }
                pairs.append(("matched_by", .string(via)))
                return .json(200, JSONText.object(pairs).render())
            case .ambiguous(let users):
                return .error(409, "ambiguous: local users \(users.map { String($0.id) }.joined(separator: ", ")) all match")
            case .notFound:
                return .error(404, "no local user matches")
            }
        }
        on(&r, "GET", "/api/tenants/{t}/status", .manageIntegrations) { _, rt in
            .json(200, try TenantStatus.collect(tenant: rt.config, directory: rt.directory).json.render())
        }
        on(&r, "POST", "/api/tenants/{t}/sources/{source}/reconcile", .manageIntegrations) { req, rt in
            guard let kind = req.parameters["source"].flatMap(SourceKind.init(rawValue:)), let s = rt.sources[kind] else {
                return .error(404, "source not configured")
            }
            guard s.enabled, let scheduler = s.scheduler else { return .error(409, "\(kind.rawValue) sync is not enabled for this tenant") }
            let confirm = req.head.queryValue("confirm_deactivations") == "true"
            guard scheduler.trigger(confirmDeactivations: confirm) else { return .error(409, "a reconciliation is already running") }
            return .json(202, #"{"status":"started"}"#)
        }
        on(&r, "POST", "/api/tenants/{t}/sources/{source}/confirm-deactivations", .manageIntegrations) { req, rt in
            guard let kind = req.parameters["source"].flatMap(SourceKind.init(rawValue:)), rt.sources[kind] != nil else {
                return .error(404, "source not configured")
            }
            let n = try rt.directory.confirmHeldDeactivations(source: kind, cause: .admin("api:\(req.parameters["token"] ?? "")"))
            return .json(200, "{\"deactivated\":\(n)}")
        }
    }

    /// Adds a route that checks the token, permission and tenant scope first.
    private func on(_ r: inout Router, _ method: String, _ pattern: String, _ permission: AdminToken.Permission,
                    _ body: @escaping @Sendable (HTTPRequest, TenantRuntime) throws -> HTTPResponse) {
        let service = self.service
        let authorize: Router.Precheck = { head, p in
            guard case .failure(let refusal) = AdminAuth.check(service, head, permission, tenant: p["t"] ?? "") else { return nil }
            return refusal.response
        }
        r.on(method, pattern, authorize: authorize) { req, res in
            HandlerWork.async {
                let tenant = req.parameters["t"] ?? ""
                let token: AdminToken
                switch AdminAuth.check(service, req, permission, tenant: tenant) {
                case .success(let t): token = t
                case .failure(let refusal): return res.send(refusal.response)
                }
                guard let rt = service.runtime(tenant) else {
                    res.send(.error(404, "unknown tenant"))
                    return
                }
                var named = req
                named.parameters["token"] = token.name
                do {
                    res.send(try body(named, rt))
                } catch {
                    service.log.error("admin api error", ["route": pattern, "tenant": tenant, "error": "\(error)"])
                    res.send(.error(500, "\(error)"))
                }
            }
        }
    }
}
