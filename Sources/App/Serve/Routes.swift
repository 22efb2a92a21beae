import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import HTTPServer
import SyncRules
import Webhooks

/// The HTTP surface of `serve`: webhooks, health, metrics, OAuth and the admin API.
struct Routes {
    let service: Service

    /// Which routes a listener serves: everything on `listen`, or, with `admin_listen`,
    /// webhooks and health on one and the admin API, metrics and OAuth on the other.
    enum Surface { case all, webhooks, admin }

    func router(_ surface: Surface = .all) -> Router {
        var r = Router()
        let service = self.service
        r.on("GET", "/healthz") { _ in .json(200, #"{"status":"ok"}"#) }
        r.on("GET", "/readyz") { _ in
            service.ready ? .json(200, #"{"status":"ready"}"#) : .json(503, #"{"status":"starting"}"#, headers: [("Retry-After", "5")])
        }
        if surface != .admin { webhooks(&r) }
        if surface != .webhooks { admin(&r) }
        return r
    }

    private func webhooks(_ r: inout Router) {
        let service = self.service
        let known: Router.Precheck = { _, p in
            guard let tenant = p["tenant"], let source = p["source"].flatMap(SourceKind.init(rawValue:)),
                  service.runtime(tenant)?.sources[source] != nil else {
                return .error(404, "unknown tenant or source not configured")
            }
            return nil
        }
        // Missing signature headers or a stale signed timestamp are refused from the head.
        let signed: Router.Precheck = { head, p in
            guard let tenant = p["tenant"], let source = p["source"].flatMap(SourceKind.init(rawValue:)),
                  let s = service.runtime(tenant)?.sources[source],
                  let reason = WebhookIntake(tolerance: service.webhookTolerance).refusal(header: { head.headers[$0] }, desk: s.desk)
            else { return nil }
            s.deliveries.series("refused").add()
            return .error(401, reason)
        }
        r.on("POST", "/webhooks/{source}/{tenant}", precheck: known, authorize: signed) { req, res in
            Self.webhook(service, req, res)
        }
        r.on("HEAD", "/webhooks/{source}/{tenant}", precheck: known) { _ in HTTPResponse(status: 200) }
    }

    private func admin(_ r: inout Router) {
        let service = self.service
        r.on("GET", "/metrics") { _, res in
            HandlerWork.async {
                let text = service.metrics.render(extra: service.scrapeGauges())
                res.send(HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4", text: text))
            }
        }
        OAuthRoutes(service: service).install(into: &r)
        AdminAPI(service: service).install(into: &r)
    }

    // Built once: the writer thread answers every stored event with one of these.
    private static let stored = HTTPResponse.json(200, #"{"status":"stored"}"#)
    private static let duplicate = HTTPResponse.json(200, #"{"status":"duplicate"}"#)

    static func webhook(_ service: Service, _ req: HTTPRequest, _ res: Responder) {
        guard let tenant = req.parameters["tenant"], let source = req.parameters["source"].flatMap(SourceKind.init(rawValue:)),
              let runtime = service.runtime(tenant), let s = runtime.sources[source] else {
            res.send(.error(404, "unknown tenant or source not configured"))
            return
        }
        let count: @Sendable (String) -> Void = { outcome in s.deliveries.series(outcome).add() }
        let intake = WebhookIntake(tolerance: service.webhookTolerance)
        let headers = req.headers
        let body = req.body
        @Sendable func receive(retrying: Bool) {
            let tried = s.secrets
            let target = IntakeTarget(tenant: tenant, desk: s.desk, config: s.config, enabled: s.enabled, secrets: tried,
                                      writer: s.writer)
            intake.receive(target, header: { headers[$0] }, body: body) { verdict in
                switch verdict {
                case .stored(let new):
                    count(new ? "stored" : "duplicate")
                    res.send(new ? Self.stored : Self.duplicate)
                case .acknowledgedDisabled:
                    count("disabled")
                    res.send(.json(200, #"{"status":"disabled"}"#))
                case .acknowledgedUnstored:
                    count("unstored")
                    res.send(.json(200, #"{"status":"ok"}"#))
                case .rejected(401, "signature does not match") where retrying:
                    // Perhaps a secret stored by `install-webhook` since this runtime
                    // started; looking it up reads the database, so not on the event loop.
                    HandlerWork.async {
                        if s.refreshStoredSecret(from: runtime.directory, tried: tried) { return receive(retrying: false) }
                        count("bad_signature")
                        res.send(.error(401, "signature does not match"))
                    }
                case .rejected(let status, let reason):
                    count(status == 401 ? "refused" : "bad_body")
                    res.send(.error(status, reason))
                case .unavailable(let reason):
                    count("unavailable")
                    service.log.warn("webhook not stored", ["tenant": tenant, "error": reason])
                    res.send(.error(503, "temporarily unavailable", headers: [("Retry-After", "5")]))
                }
            }
        }
        // The tenant's writer thread stores the event and answers; the loop moves on.
        receive(retrying: true)
    }
}
