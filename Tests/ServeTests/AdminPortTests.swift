import Signing
import Directory
import Foundation
import HTTPClient
import TestSupport
import Testing

// Nested in ServeTests (serialized): these tests block their thread on real sockets and
// processes, so they take turns with the other serve tests rather than crowd the pool.
extension ServeTests {
    /// `admin_listen` (SPEC §3) and the OAuth routes' rules: who may start a connection, where
    /// Zendesk sends the admin back, and how long a `state` lives.
    @Suite struct AdminPortTests {
        static let redirect = "https://usersync.example.com/oauth/zendesk/callback"
        static let allUsersToken = "users-token-all"

        /// The standard harness restarted with an admin port, a tenant on OAuth and a token
        /// with `manage_users` for every tenant.
        final class Edge {
            let h: ServeHarness
            let admin: String

            init(oauthEnabled: Bool = false) throws {
                h = try ServeHarness()
                h.serve.stop()
                let secret = try h.folder.write("client-secret", "sim-client-secret")
                let users = try h.folder.write("users-all", AdminPortTests.allUsersToken)
                var text = try String(contentsOfFile: h.config, encoding: .utf8)
                text = text.replacingOccurrences(of: #""listen": "127.0.0.1:0","#, with: #""listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0","#)
                text = text.replacingOccurrences(of: #""admin_tokens": ["#, with: #"""
                    "admin_tokens": [{"name": "users-all", "token_file": "\#(users)", "permissions": ["manage_users"]},
                    """#)
                let tenant = """
                    , {"id": "oauth-co", "features": ["integrations"], "licence_limit": 5,
                       "zendesk": {"enabled": \(oauthEnabled), "subdomain": "oauth-co", "api_base_url": "\(h.sim.baseURL)",
                         "auth": {"type": "oauth", "client_id": "usersync", "client_secret_file": "\(secret)", "redirect_url": "\(AdminPortTests.redirect)"},
                         "roles": ["agent"]}}]}
                    """
                text = String(text[..<text.range(of: "]}", options: .backwards)!.lowerBound]) + tenant
                try text.write(toFile: h.config, atomically: true, encoding: .utf8)
                try h.start()
                let marker = #""admin_address":""#
                let log = h.serve.log
                let rest = log[log.range(of: marker)!.upperBound...].prefix { $0 != "\"" }
                admin = "http://" + rest
            }

            func get(_ base: String, _ path: String, token: String? = nil, headers: [(String, String)] = []) throws -> ClientResponse {
                try h.http.perform(ClientRequest(url: base + path, headers: headers + (token.map { [("Authorization", "Bearer \($0)")] } ?? [])))
            }
        }

        /// The query value of `name` in a URL.
        static func query(_ url: String, _ name: String) -> String? {
            URLComponents(string: url)?.queryItems?.first { $0.name == name }?.value
        }

        @Test func theWebhookPortAnswersOnlyWebhooksAndHealth() throws {
            let e = try Edge()
            let h = e.h
            #expect(try e.get(h.baseURL, "/api/tenants/abc-energy/users", token: ServeHarness.opsToken).status == 404)
            #expect(try e.get(h.baseURL, "/metrics").status == 404)
            #expect(try e.get(h.baseURL, "/oauth/zendesk/start?tenant=oauth-co", token: ServeHarness.opsToken).status == 404)
            #expect(try e.get(h.baseURL, "/healthz").status == 200)
            #expect(try e.get(h.baseURL, "/readyz").status == 200)
            let event = ServeHarness.event(type: "user.name_changed", user: "6596848315901", current: #""Ann W""#)
            #expect(try h.deliver(event).status == 200)

            #expect(try e.get(e.admin, "/api/tenants/abc-energy/users", token: ServeHarness.opsToken).status == 200)
            #expect(try e.get(e.admin, "/api/tenants/abc-energy/users").status == 401)
            #expect(try e.get(e.admin, "/metrics").status == 200)
            let signed = ServeHarness.signed(event)
            let onAdmin = try h.http.perform(ClientRequest(method: "POST", url: e.admin + "/webhooks/zendesk/abc-energy",
                                                           headers: signed.headers, body: signed.body))
            #expect(onAdmin.status == 404, "webhooks are not served on the admin port")
        }

        @Test func startingOAuthNeedsManageIntegrationsAndUsesTheConfiguredRedirect() throws {
            let e = try Edge()
            let start = "/oauth/zendesk/start?tenant=oauth-co"
            #expect(try e.get(e.admin, start).status == 401)
            #expect(try e.get(e.admin, start, token: "not-a-token").status == 401)
            #expect(try e.get(e.admin, start, token: Self.allUsersToken).status == 403)
            #expect(try e.get(e.admin, start, token: ServeHarness.usersToken).status == 403)
            let ok = try e.get(e.admin, start, token: ServeHarness.opsToken, headers: [("Host", "evil.example")])
            #expect(ok.status == 302)
            let location = ok.header("location") ?? ""
            #expect(location.hasPrefix(e.h.sim.baseURL + "/oauth/authorizations/new?"))
            #expect(Self.query(location, "redirect_uri") == Self.redirect, "never built from the request's Host")
            #expect(Self.query(location, "state")?.isEmpty == false)
        }

        @Test func aSignedLinkFromConnectStartsWithoutATokenUntilItExpires() throws {
            let e = try Edge()
            let cli = try ChildProcess(Products.path("usersync"), ["--config", e.h.config, "zendesk", "connect", "--tenant", "oauth-co"], waitFor: nil)
            cli.process.waitUntilExit()
            #expect(cli.process.terminationStatus == 0)
            #expect(e.h.eventually { cli.log.contains("/oauth/zendesk/start?") })
            let printed = cli.log.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix("https://usersync.example.com/oauth/zendesk/start?") } ?? ""
            let path = String(printed.dropFirst("https://usersync.example.com".count))
            #expect(!path.isEmpty)

            let ok = try e.get(e.admin, path)
            #expect(ok.status == 302)
            #expect(Self.query(ok.header("location") ?? "", "redirect_uri") == Self.redirect)

            let expires = Self.query(printed, "expires") ?? ""
            let signature = Self.query(printed, "signature") ?? ""
            let forged = signature.prefix(signature.count - 1) + (signature.hasSuffix("0") ? "1" : "0")
            #expect(try e.get(e.admin, "/oauth/zendesk/start?tenant=oauth-co&expires=\(expires)&signature=\(forged)").status == 403)
            let later = (Int64(expires) ?? 0) - 60
            #expect(try e.get(e.admin, "/oauth/zendesk/start?tenant=oauth-co&expires=\(later)&signature=\(signature)").status == 403,
                    "the expiry is signed")
            #expect(try e.get(e.admin, "/oauth/zendesk/start?tenant=abc-energy&expires=\(expires)&signature=\(signature)").status == 403,
                    "a link names its tenant")
            let past = Int64(Date().timeIntervalSince1970) - 1
            #expect(try e.get(e.admin, "/oauth/zendesk/start?tenant=oauth-co&expires=\(past)&signature=\(signature)").status == 403)
        }

        /// An enabled source that could not import without a token imports as soon as the
        /// callback connects it, not when its failed run's retry comes round.
        @Test func connectingThroughTheCallbackStartsTheImport() throws {
            let e = try Edge(oauthEnabled: true)
            let first = try e.get(e.admin, "/oauth/zendesk/start?tenant=oauth-co", token: ServeHarness.opsToken)
            let back = try e.h.http.perform(ClientRequest(url: first.header("location") ?? "")).header("location") ?? ""
            let code = Self.query(back, "code") ?? "", state = Self.query(back, "state") ?? ""
            #expect(try e.get(e.admin, "/oauth/zendesk/callback?code=\(code)&state=\(state)").status == 200)
            #expect(try e.h.eventually(10) { try e.h.directory("oauth-co").users().count > 0 })
        }

        /// Runs `usersync zendesk connect ARGS` for oauth-co and returns what it printed.
        static func connect(_ e: Edge, _ arguments: [String]) throws -> (status: Int32, log: String) {
            let cli = try ChildProcess(Products.path("usersync"),
                                       ["--config", e.h.config, "zendesk", "connect", "--tenant", "oauth-co"] + arguments, waitFor: nil)
            cli.process.waitUntilExit()
            return (cli.process.terminationStatus, cli.log)
        }

        /// Begins a connection on the command line with `--redirect-url own`, lets the
        /// simulator allow it, and returns the authorization URL and where it sent the admin.
        static func authorizeFromCommandLine(_ e: Edge, redirect own: String) throws -> (authorize: String, back: String) {
            let printed = try connect(e, ["--redirect-url", own]).log
            let authorize = printed.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix(e.h.sim.baseURL + "/oauth/authorizations/new?") } ?? ""
            return (authorize, try e.h.http.perform(ClientRequest(url: authorize)).header("location") ?? "")
        }

        /// `connect --redirect-url` begun on the command line and finished by `serve`'s
        /// callback: the token request repeats the redirect the authorization asked for.
        @Test func theCallbackExchangesWithTheRedirectTheAuthorizationUsed() throws {
            let e = try Edge()
            let own = "http://localhost:9/oauth/zendesk/callback"
            let (authorize, back) = try Self.authorizeFromCommandLine(e, redirect: own)
            #expect(Self.query(authorize, "redirect_uri") == own)
            let code = Self.query(back, "code") ?? "", state = Self.query(back, "state") ?? ""
            let connected = try e.get(e.admin, "/oauth/zendesk/callback?code=\(code)&state=\(state)")
            #expect(connected.status == 200, "\(String(decoding: connected.body, as: UTF8.self))")
        }

        /// The same when the connection is finished on the command line: the scheduler,
        /// waiting to retry the run that failed without a token, sees the new one.
        @Test func connectingFromTheCommandLineStartsTheImportSoon() throws {
            let e = try Edge(oauthEnabled: true)
            #expect(try e.h.eventually { try e.h.directory("oauth-co").runs().contains { $0.outcome == .failed } })
            let back = try Self.authorizeFromCommandLine(e, redirect: "http://localhost:9/oauth/zendesk/callback").back
            let done = try Self.connect(e, ["--code", Self.query(back, "code") ?? ""])
            #expect(done.status == 0, "\(done.log)")
            #expect(try e.h.eventually(15) { try e.h.directory("oauth-co").users().count > 0 })
        }

        @Test func theCallbackRefusesAStateOlderThanTenMinutesAndAcceptsAFreshOne() throws {
            let e = try Edge()
            let start = "/oauth/zendesk/start?tenant=oauth-co"

            #expect(try e.h.cli(["status", "--tenant", "oauth-co"]).out.contains("auth not connected"), "no token yet")
            // The admin declines: the desk's answer is shown.
            let declined = try e.get(e.admin, "/oauth/zendesk/callback?error=access_denied&error_description=No%20thanks&state=x")
            #expect(declined.status == 400 && String(decoding: declined.body, as: UTF8.self).contains("access_denied"))

            // A fresh state: the simulator allows at once and sends the admin back with a code.
            let first = try e.get(e.admin, start, token: ServeHarness.opsToken)
            let allowed = try e.h.http.perform(ClientRequest(url: first.header("location") ?? ""))
            #expect(allowed.status == 302)
            let back = allowed.header("location") ?? ""
            let code = Self.query(back, "code") ?? "", state = Self.query(back, "state") ?? ""
            let connected = try e.get(e.admin, "/oauth/zendesk/callback?code=\(code)&state=\(state)")
            #expect(connected.status == 200)
            #expect(try e.h.directory("oauth-co").sourceState(.zendesk).oauthAccessToken != nil)
            #expect(try e.h.cli(["status", "--tenant", "oauth-co"]).out.contains("auth ok"))
            #expect(try e.get(e.admin, "/oauth/zendesk/callback?code=\(code)&state=\(state)").status == 400, "a state is used once")

            // A state issued 601 s ago.
            let second = try e.get(e.admin, start, token: ServeHarness.opsToken)
            let allowedAgain = try e.h.http.perform(ClientRequest(url: second.header("location") ?? ""))
            let backAgain = allowedAgain.header("location") ?? ""
            let oldCode = Self.query(backAgain, "code") ?? "", oldState = Self.query(backAgain, "state") ?? ""
            let issuedLongAgo = Int64(Date().timeIntervalSince1970) - 601
            try e.h.directory("oauth-co").updateSourceState(.zendesk) { s in
                #expect(s.oauthState?.hasPrefix(oldState + ".") == true)
                s.oauthState = "\(oldState).\(issuedLongAgo)"
            }
            #expect(try e.get(e.admin, "/oauth/zendesk/callback?code=\(oldCode)&state=\(oldState)").status == 400)
            #expect(try e.get(e.admin, "/oauth/zendesk/callback?code=\(oldCode)&state=wrong").status == 400)
        }
    }
}
