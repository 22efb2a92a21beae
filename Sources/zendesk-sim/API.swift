import CCrypto
import Foundation
import HTTPServer
import SimulatorSupport
import JSON
import Signing
import SyncRules

/// The Zendesk REST endpoints the product uses, served from a `Population`.
/// Shapes follow shared/reference/zendesk-api.md §4, §6, §7.
struct ZendeskAPI {
    let population: Population
    let faults: Faults
    let stats: SimulatorStats
    let pusher: WebhookPusher
    let auth: Auth

    /// Who may call the API: an API token (Basic `email/token:TOKEN`) and/or OAuth bearer tokens.
    final class Auth: @unchecked Sendable {
        var email: String?
        var token: String?
        var clientID = "usersync"
        var clientSecret = "sim-client-secret"
        private let lock = NSLock()
        private var accessTokens: Set<String> = []
        private var refreshTokens: Set<String> = []
        private var codes: [String: (challenge: String?, redirect: String?)] = [:]

        func allows(_ header: String?) -> Bool {
            if email == nil && token == nil { return true }
            guard let header else { return false }
            if header.hasPrefix("Bearer ") {
                lock.lock()
                defer { lock.unlock() }
                return accessTokens.contains(String(header.dropFirst(7)))
            }
            if header.hasPrefix("Basic "), let bytes = Base64.decode(header.dropFirst(6)) {
                return String(decoding: bytes, as: UTF8.self) == "\(email ?? "")/token:\(token ?? "")"
            }
            return false
        }

        func issueCode(challenge: String?, redirect: String?) -> String {
            let code = "code-" + UUID().uuidString.lowercased()
            lock.lock()
            codes[code] = (challenge, redirect)
            lock.unlock()
            return code
        }

        /// Exchanges a code (checking PKCE) or rotates a refresh token; nil when refused.
        func grant(_ form: [String: String]) -> (String, String)? {
            lock.lock()
            defer { lock.unlock() }
            guard form["client_id"] == clientID, form["client_secret"] == clientSecret else { return nil }
            switch form["grant_type"] {
            case "authorization_code":
                guard let code = form["code"], let issued = codes.removeValue(forKey: code) else { return nil }
                // The token request repeats the authorization's redirect_uri exactly (RFC 6749 §4.1.3).
                if let redirect = issued.redirect, form["redirect_uri"] != redirect { return nil }
                if let challenge = issued.challenge {
                    guard let verifier = form["code_verifier"], ZendeskAPI.s256(verifier) == challenge else { return nil }
                }
            case "refresh_token":
                guard let rt = form["refresh_token"], refreshTokens.remove(rt) != nil else { return nil }
            default:
                return nil
            }
            let access = "at-" + UUID().uuidString.lowercased()
            let refresh = "rt-" + UUID().uuidString.lowercased()
            accessTokens.insert(access)
            refreshTokens.insert(refresh)
            return (access, refresh)
        }
    }

    static func s256(_ verifier: String) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        let bytes = Array(verifier.utf8)
        _ = SHA256(bytes, bytes.count, &digest)
        return Base64.encodeURL(digest)
    }

    func install(into router: inout Router) {
        router.on("GET", "/api/v2/users") { req, res in self.guarded(req, res, page: self.pageNumber(req)) { self.listUsers(req) } }
        router.on("GET", "/api/v2/users.json") { req, res in self.guarded(req, res, page: self.pageNumber(req)) { self.listUsers(req) } }
        router.on("GET", "/api/v2/users/{id}") { req, res in self.guarded(req, res, page: nil) { self.showUser(req) } }
        router.on("GET", "/api/v2/custom_roles") { req, res in self.guarded(req, res, page: nil) { self.customRoles() } }
        router.on("GET", "/api/v2/custom_roles.json") { req, res in self.guarded(req, res, page: nil) { self.customRoles() } }
        router.on("GET", "/api/v2/incremental/users/cursor.json") { req, res in
            self.guarded(req, res, page: nil) { self.incremental(req) }
        }
        router.on("POST", "/api/v2/webhooks") { req, res in self.guarded(req, res, page: nil) { self.createWebhook(req) } }
        router.on("GET", "/api/v2/webhooks/{id}/signing_secret") { req, res in
            self.guarded(req, res, page: nil) { self.signingSecret(req) }
        }
        router.on("POST", "/api/v2/webhooks/{id}/signing_secret") { req, res in
            self.guarded(req, res, page: nil) { self.resetSecret(req) }
        }
        router.on("GET", "/api/v2/webhooks") { req, res in self.guarded(req, res, page: nil) { self.listWebhooks(req) } }
        router.on("PUT", "/api/v2/webhooks/{id}") { req, res in self.guarded(req, res, page: nil) { self.updateWebhook(req) } }
        router.on("DELETE", "/api/v2/webhooks/{id}") { req, res in self.guarded(req, res, page: nil) { self.deleteWebhook(req) } }
        router.on("POST", "/oauth/tokens", answer: oauthToken)
        router.on("GET", "/oauth/authorizations/new", answer: authorize)
    }

    /// Applies auth, faults and latency, then answers (off the event loop when slow).
    private func guarded(_ req: HTTPRequest, _ res: Responder, page: Int?, _ answer: @escaping @Sendable () -> HTTPResponse) {
        stats.bump("api_requests")
        let verdict: HTTPResponse? = {
            guard auth.allows(req.headers["Authorization"]) else {
                return .json(401, #"{"error":"Couldn't authenticate you"}"#)
            }
            switch faults.verdict(page: page) {
            case .pass: return nil
            case .status(let s, let h):
                stats.bump("faults_\(s)")
                return .json(s, s == 429 ? #"{"error":"APIRateLimitExceeded"}"# : #"{"error":"InternalError"}"#, headers: h)
            case .truncate:
                stats.bump("faults_truncated")
                var r = answer()
                r.body = Array(r.body.prefix(r.body.count / 2))
                return r
            }
        }()
        let latency = faults.latency
        if page != nil, faults.listDelay > 0 {
            let computed = verdict ?? answer()
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(faults.listDelay + latency)) { res.send(computed) }
            return
        }
        let respond: @Sendable () -> Void = { res.send(verdict ?? answer()) }
        if latency > 0 {
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(latency), execute: respond)
        } else {
            respond()
        }
    }

    private func pageNumber(_ req: HTTPRequest) -> Int {
        // Page numbers for fault injection: the cursor carries "<last id>.<page>".
        guard let after = req.head.queryValue("page[after]"), let dot = after.lastIndex(of: ".") else { return 1 }
        return (Int(after[after.index(after: dot)...]) ?? 1) + 1
    }

    private func base(_ req: HTTPRequest) -> String { "http://\(req.headers["Host"] ?? "127.0.0.1")" }

    private func listUsers(_ req: HTTPRequest) -> HTTPResponse {
        var roles = Set<String>()
        for pair in (req.head.query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            if kv.count == 2, kv[0] == "role[]" || kv[0] == "role" { roles.insert(kv[1]) }
        }
        let permissionSet = req.head.queryValue("permission_set").flatMap(Int64.init)
        let size = min(max(Int(req.head.queryValue("page[size]") ?? "100") ?? 100, 1), 100)
        var after: Int64 = 0
        var pageNo = 0
        if let c = req.head.queryValue("page[after]") {
            let parts = c.split(separator: ".")
            guard let a = parts.first.flatMap({ Int64($0) }) else { return .json(400, #"{"error":"InvalidPaginationParameter"}"#) }
            after = a
            pageNo = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        }
        // Deleted users are served by /deleted_users, not the listing (USERS).
        let filter: (SimUser) -> Bool = { u in
            u.active && (roles.isEmpty || roles.contains(u.role)) && (permissionSet == nil || u.customRoleID == permissionSet)
        }
        population.base = base(req)
        let page = population.page(after: after, size: size, filter: filter)
        let cursor = page.last.map { "\($0).\(pageNo + 1)" }
        var next = "null"
        if page.more, let cursor {
            var q = roles.sorted().map { "role%5B%5D=\($0)" }
            if let p = permissionSet { q.append("permission_set=\(p)") }
            q.append("page%5Bsize%5D=\(size)")
            q.append("page%5Bafter%5D=\(cursor)")
            next = "\"\(base(req))/api/v2/users?\(q.joined(separator: "&"))\""
        }
        var body = Array("{\"users\":".utf8)
        body.append(contentsOf: page.json)
        let afterText = cursor.map { "\"\($0)\"" } ?? "null"
        body.append(contentsOf: Array(",\"meta\":{\"has_more\":\(page.more),\"after_cursor\":\(afterText),\"before_cursor\":null},".utf8))
        body.append(contentsOf: Array("\"links\":{\"next\":\(next),\"prev\":null}}".utf8))
        stats.bump("list_pages")
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json; charset=utf-8"), ("X-Rate-Limit", "700"),
                                                   ("X-Rate-Limit-Remaining", "699")], body: body)
    }

    private func showUser(_ req: HTTPRequest) -> HTTPResponse {
        stats.bump("show_user")
        if faults.isProxy404(req.parameters["id"] ?? "") {
            return HTTPResponse(status: 404, headers: [("Content-Type", "text/html")],
                                body: Array("<html><body>404 Not Found (nginx)</body></html>".utf8))
        }
        let raw = (req.parameters["id"] ?? "").replacingOccurrences(of: ".json", with: "")
        guard let id = Int64(raw), let u = population.user(id) else {
            return .json(404, #"{"error":"RecordNotFound","description":"Not found"}"#)
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json; charset=utf-8")],
                            body: Array("{\"user\":".utf8) + u.render(base: base(req)) + [UInt8(ascii: "}")])
    }

    private func customRoles() -> HTTPResponse {
        let items = population.roles.map {
            "{\"id\":\($0.id),\"name\":\(JSONWriter.quote($0.name)),\"description\":\"\",\"role_type\":0,"
                + "\"team_member_count\":0,\"configuration\":{}}"
        }
        return .json(200, "{\"custom_roles\":[\(items.joined(separator: ","))]}")
    }

    private func incremental(_ req: HTTPRequest) -> HTTPResponse {
        stats.bump("incremental")
        let perPage = min(max(Int(req.head.queryValue("per_page") ?? "1000") ?? 1000, 1), 1000)
        var key: (Int64, Int64)
        if let c = req.head.queryValue("cursor") {
            let p = c.split(separator: "_").compactMap { Int64($0) }
            guard p.count == 2 else { return .json(400, #"{"error":"InvalidCursor"}"#) }
            key = (p[0], p[1])
        } else if let s = req.head.queryValue("start_time").flatMap(Int64.init) {
            // start_time must be at least a minute in the past (INCR).
            guard s <= Int64(Date().timeIntervalSince1970) - 60 else {
                return .json(400, #"{"error":"InvalidValue","description":"start_time is too recent"}"#)
            }
            key = (s, -1)
        } else {
            return .json(400, #"{"error":"InvalidValue","description":"start_time or cursor is required"}"#)
        }
        let page = population.changed(after: key, limit: perPage)
        let last = page.last ?? key
        let cursor = "\(last.0)_\(last.1)"
        var body = Array("{\"users\":".utf8)
        body.append(contentsOf: page.json)
        let afterURL = "\(base(req))/api/v2/incremental/users/cursor.json?cursor=\(cursor)"
        body.append(contentsOf: Array(",\"after_cursor\":\"\(cursor)\",\"after_url\":\"\(afterURL)\",".utf8))
        body.append(contentsOf: Array("\"before_cursor\":null,\"before_url\":null,\"end_of_stream\":\(page.end)}".utf8))
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json; charset=utf-8")], body: body)
    }

    private func createWebhook(_ req: HTTPRequest) -> HTTPResponse {
        guard let o = try? JSONSerialization.jsonObject(with: Data(req.body)) as? [String: Any],
              let w = o["webhook"] as? [String: Any], let endpoint = w["endpoint"] as? String,
              let subs = w["subscriptions"] as? [String], !subs.isEmpty else {
            return .json(400, #"{"error":"InvalidWebhook"}"#)
        }
        for s in subs where !s.hasPrefix("zen:event-type:user.") && s != "conditional_ticket_events" {
            return .json(400, "{\"error\":\"InvalidSubscription\",\"description\":\(JSONWriter.quote(s))}")
        }
        let id = "01" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24).uppercased()
        let secret = Base64.encode((0..<32).map { _ in UInt8.random(in: 0...255) })
        pusher.register(.init(id: id, url: endpoint, secret: secret, name: w["name"] as? String ?? ""), replacingURL: false)
        stats.bump("webhooks_created")
        let name = JSONWriter.quote(w["name"] as? String ?? ""), list = subs.map { JSONWriter.quote($0) }.joined(separator: ",")
        return .json(201, "{\"webhook\":{\"id\":\"\(id)\",\"name\":\(name),\"status\":\"active\","
            + "\"endpoint\":\(JSONWriter.quote(endpoint)),\"http_method\":\"POST\",\"request_format\":\"json\","
            + "\"subscriptions\":[\(list)]}}")
    }

    /// `filter[name_contains]` only; one page (the simulator's accounts hold a few).
    private func listWebhooks(_ req: HTTPRequest) -> HTTPResponse {
        let needle = req.head.queryValue("filter[name_contains]")?.lowercased()
        let hooks = pusher.all.filter { needle == nil || $0.name.lowercased().contains(needle!) }
        let items = hooks.map {
            "{\"id\":\"\($0.id)\",\"name\":\(JSONWriter.quote($0.name)),\"status\":\"active\",\"endpoint\":\(JSONWriter.quote($0.url))}"
        }
        return .json(200, "{\"webhooks\":[\(items.joined(separator: ","))],\"meta\":{\"has_more\":false,\"after_cursor\":null}}")
    }

    private func updateWebhook(_ req: HTTPRequest) -> HTTPResponse {
        guard let id = req.parameters["id"],
              let o = try? JSONSerialization.jsonObject(with: Data(req.body)) as? [String: Any], let w = o["webhook"] as? [String: Any]
        else { return .json(400, #"{"error":"InvalidWebhook"}"#) }
        let updated = pusher.update(id) { t in
            if let endpoint = w["endpoint"] as? String { t.url = endpoint }
            if let name = w["name"] as? String { t.name = name }
        }
        stats.bump("webhooks_updated")
        return updated == nil ? .json(404, #"{"error":"RecordNotFound"}"#) : HTTPResponse(status: 204)
    }

    private func deleteWebhook(_ req: HTTPRequest) -> HTTPResponse {
        stats.bump("webhooks_deleted")
        return pusher.remove(req.parameters["id"] ?? "") ? HTTPResponse(status: 204) : .json(404, #"{"error":"RecordNotFound"}"#)
    }

    private func resetSecret(_ req: HTTPRequest) -> HTTPResponse {
        let secret = Base64.encode((0..<32).map { _ in UInt8.random(in: 0...255) })
        guard pusher.update(req.parameters["id"] ?? "", { $0.secret = secret }) != nil else {
            return .json(404, #"{"error":"RecordNotFound"}"#)
        }
        stats.bump("webhook_secrets_reset")
        return .json(201, "{\"signing_secret\":{\"algorithm\":\"SHA256\",\"secret\":\(JSONWriter.quote(secret))}}")
    }

    private func signingSecret(_ req: HTTPRequest) -> HTTPResponse {
        guard let id = req.parameters["id"], let secret = pusher.secrets[id] else { return .json(404, #"{"error":"RecordNotFound"}"#) }
        return .json(200, "{\"signing_secret\":{\"algorithm\":\"SHA256\",\"secret\":\(JSONWriter.quote(secret))}}")
    }

    private func authorize(_ req: HTTPRequest) -> HTTPResponse {
        // A real account asks a person to click Allow; the simulator allows at once.
        guard let redirect = req.head.queryValue("redirect_uri") else { return .json(400, #"{"error":"invalid_request"}"#) }
        let code = auth.issueCode(challenge: req.head.queryValue("code_challenge"), redirect: redirect)
        return OAuthForms.redirect(to: redirect, code: code, state: req.head.queryValue("state"))
    }

    private func oauthToken(_ req: HTTPRequest) -> HTTPResponse {
        let form = OAuthForms.fields(req.body)
        guard let (access, refresh) = auth.grant(form) else {
            return .json(400, #"{"error":"invalid_grant","error_description":"The provided authorization grant is invalid"}"#)
        }
        stats.bump("oauth_grants")
        return .json(200, "{\"access_token\":\"\(access)\",\"token_type\":\"bearer\",\"scope\":\"read webhooks:write\","
            + "\"refresh_token\":\"\(refresh)\",\"expires_in\":1800,\"refresh_token_expires_in\":2592000}")
    }
}
