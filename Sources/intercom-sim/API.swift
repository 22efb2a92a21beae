import Foundation
import HTTPServer
import SimulatorSupport
import JSON

/// The Intercom REST endpoints the product uses, served from a `Workspace`, and Intercom's
/// OAuth (`GET /oauth`, `POST /auth/eagle/token`). Shapes follow
/// shared/reference/intercom-and-webhook-practice.md §1.
struct IntercomAPI {
    let workspace: Workspace
    let faults: Faults
    let stats: SimulatorStats
    let auth: Auth

    /// Who may call the API: the access tokens given with `--token` and those OAuth issued
    /// (none configured: anyone).
    final class Auth: @unchecked Sendable {
        private let lock = NSLock()
        private var tokens: Set<String> = []
        private var codes: Set<String> = []
        var clientID = "usersync-intercom"
        var clientSecret = "sim-intercom-client-secret"

        func add(token: String) { lock.withLock { _ = tokens.insert(token) } }

        func allows(_ header: String?) -> Bool {
            lock.withLock {
                if tokens.isEmpty { return true }
                guard let header, header.hasPrefix("Bearer ") else { return false }
                return tokens.contains(String(header.dropFirst(7)))
            }
        }

        func issueCode() -> String {
            let code = "code-" + UUID().uuidString.lowercased()
            lock.withLock { _ = codes.insert(code) }
            return code
        }

        /// A new access token for a valid, unused code and the right client; nil otherwise.
        func grant(code: String?, clientID: String?, clientSecret: String?) -> String? {
            lock.withLock {
                guard clientID == self.clientID, clientSecret == self.clientSecret, let code, codes.remove(code) != nil else { return nil }
                let token = "tok-" + UUID().uuidString.lowercased()
                tokens.insert(token)
                return token
            }
        }
    }

    static func errorList(_ code: String, _ message: String) -> String {
        "{\"type\":\"error.list\",\"request_id\":\"\(UUID().uuidString.lowercased())\",\"errors\":[{\"code\":\"\(code)\",\"message\":\(JSONWriter.quote(message))}]}"
    }

    func install(into router: inout Router) {
        router.on("GET", "/admins") { req, res in self.guarded(req, res) { self.listAdmins() } }
        router.on("GET", "/admins/{id}") { req, res in self.guarded(req, res) { self.showAdmin(req) } }
        router.on("GET", "/me") { req, res in self.guarded(req, res) { self.me() } }
        router.on("GET", "/oauth", answer: authorize)
        router.on("POST", "/auth/eagle/token", answer: token)
    }

    /// Applies auth, faults, the rate-limit window and latency, then answers.
    private func guarded(_ req: HTTPRequest, _ res: Responder, _ answer: @escaping @Sendable () -> HTTPResponse) {
        stats.bump("api_requests")
        stats.bump("version_" + (req.headers["Intercom-Version"] ?? "missing"))
        let response: HTTPResponse
        if !auth.allows(req.headers["Authorization"]) {
            stats.bump("unauthorized")
            // No rate-limit headers without valid credentials (reference §1.9, 2.17 text).
            response = .json(401, Self.errorList("unauthorized", "Access Token Invalid"))
        } else {
            let (verdict, limits) = faults.verdict()
            switch verdict {
            case .pass:
                var r = answer()
                r.headers += limits
                response = r
            case .status(let s, let extra):
                stats.bump("faults_\(s)")
                let body = switch s {
                case 401: Self.errorList("unauthorized", "Access Token Invalid")
                case 429: Self.errorList("rate_limit_exceeded", "Exceeded rate limit of \(faults.limit) in \(faults.windowSeconds)_seconds")
                default: Self.errorList("server_error", "Internal server error")
                }
                response = .json(s, body, headers: extra + limits)
            case .truncate:
                stats.bump("faults_truncated")
                var r = answer()
                r.body = Array(r.body.prefix(r.body.count / 2))
                r.headers += limits
                response = r
            }
        }
        let latency = faults.latency
        if latency > 0 {
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(latency)) { res.send(response) }
        } else {
            res.send(response)
        }
    }

    private func listAdmins() -> HTTPResponse {
        stats.bump("list_admins")
        return .json(200, workspace.listing())
    }

    private func showAdmin(_ req: HTTPRequest) -> HTTPResponse {
        stats.bump("show_admin")
        guard let id = Int64(req.parameters["id"] ?? ""), let a = workspace.admin(id) else {
            return .json(404, Self.errorList("admin_not_found", "Admin not found"))
        }
        return .json(200, a.render())
    }

    private func me() -> HTTPResponse {
        stats.bump("me")
        return .json(200, """
        {"type":"admin","id":"1","email":"owner@sim.example","name":"Sim Owner","email_verified":true,\
        "app":{"type":"app","id_code":\(JSONWriter.quote(workspace.appID)),"name":"Sim Workspace",\
        "region":\(JSONWriter.quote(workspace.region)),"timezone":"Europe/Dublin","created_at":1700000000,\
        "identity_verification":false},"avatar":{"type":"avatar","image_url":null},"has_inbox_seat":true}
        """)
    }

    private func authorize(_ req: HTTPRequest) -> HTTPResponse {
        // A real workspace asks an admin to click Authorize; the simulator authorizes at once.
        guard req.head.queryValue("client_id") == auth.clientID else { return .json(400, Self.errorList("invalid_client", "Unknown client_id")) }
        guard let redirect = req.head.queryValue("redirect_uri") else { return .json(400, Self.errorList("invalid_request", "redirect_uri")) }
        let code = auth.issueCode()
        return OAuthForms.redirect(to: redirect, code: code, state: req.head.queryValue("state"))
    }

    private func token(_ req: HTTPRequest) -> HTTPResponse {
        let form = OAuthForms.fields(req.body)
        guard let token = auth.grant(code: form["code"], clientID: form["client_id"], clientSecret: form["client_secret"]) else {
            return .json(400, Self.errorList("invalid_grant", "The code is invalid, used or expired"))
        }
        stats.bump("oauth_grants")
        return .json(200, "{\"token_type\":\"Bearer\",\"token\":\"\(token)\",\"access_token\":\"\(token)\"}")
    }
}
