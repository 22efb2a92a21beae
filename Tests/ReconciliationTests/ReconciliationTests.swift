import App
import Desks
import Directory
import Foundation
import HTTPClient
import Reconciliation
import SyncRules
import TestSupport
import Testing

/// A tenant configured against a running simulator, driven through the real CLI.
final class Harness: @unchecked Sendable {
    let sim: Simulator
    let folder = TemporaryFolder()
    let config: String

    init(sim: Simulator, roles: String = #"["agent", "admin", "Team Lead"]"#, maxDeactivations: String = "null",
         auth: String? = nil, extra: String = "") throws {
        setenv("USERSYNC_BACKOFF_BASE_MS", "20", 1)
        self.sim = sim
        let tokenFile = try folder.write("token", Simulator.token)
        let authJSON = auth ?? #"{"type": "api_token", "email": "\#(Simulator.email)", "token_file": "\#(tokenFile)"}"#
        config = try folder.write("usersync.json", """
        {"data_dir": "data", \(extra) "tenants": [{"id": "abc-energy", "features": ["integrations"], "licence_limit": 3,
          "zendesk": {"enabled": true, "subdomain": "abc-energy", "api_base_url": "\(sim.baseURL)",
            "auth": \(authJSON), "roles": \(roles), "max_deactivations": \(maxDeactivations)}}]}
        """)
    }

    func cli(_ args: String...) async -> (code: Int32, out: String, err: String) {
        let console = Console(capture: true)
        let code = await UsersyncCLI.run(["--config", config] + args, console: console)
        return (code, console.output, console.errors)
    }

    func directory() throws -> TenantDirectory { try TenantDirectory(dataDir: folder.path + "/data", tenant: "abc-energy") }

    func user(source id: String) throws -> UserRecord? {
        try directory().users().first { $0.links.contains { $0.sourceUserID == id } }
    }
}

@Suite(.serialized) struct ReconciliationTests {
    let ann = "6596848315901", bob = "6596848315902", chen = "6596848315903", eve = "6596848315905"
    let grace = "6596848315907", hugo = "6596848315908", kai = "6596848315911", lena = "6596848315912"

    @Test func reconcileRunsTheTenantsThatHaveTheSourceAndFailsWhenNothingRan() async throws {
        let h = try Harness(sim: try Simulator())
        let text = try String(contentsOfFile: h.config, encoding: .utf8)
        try text.replacingOccurrences(of: #""tenants": ["#, with: #""tenants": [{"id": "zzz", "licence_limit": 1}, "#)
            .write(toFile: h.config, atomically: true, encoding: .utf8)
        let all = await h.cli("reconcile", "--source", "zendesk")
        #expect(all.code == 0, "\(all.err)")
        #expect(all.out.contains("abc-energy/zendesk: run #1 full completed"))
        let none = await h.cli("reconcile", "--tenant", "zzz")
        #expect(none.code == 1)
        #expect(none.err.contains("no enabled source to reconcile"))
        let named = await h.cli("reconcile", "--tenant", "zzz", "--source", "zendesk")
        #expect(named.code == 1)
        #expect(named.err.contains("tenant zzz: zendesk is not configured"))
    }

    @Test func initialImportCreatesPendingUsersForInScopeUsersOnly() async throws {
        let h = try Harness(sim: try Simulator())
        let r = await h.cli("reconcile")
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("completed"))
        let users = try h.directory().users()
        #expect(users.count == 10)
        #expect(users.allSatisfy { $0.user.status == .pending && $0.user.origin == .zendesk })
        #expect(try h.user(source: grace) == nil, "a suspended agent is not imported")
        #expect(try h.user(source: hugo) == nil, "a deleted user is not imported")
        #expect(try h.user(source: "6596848315950") == nil, "end-users are never imported")
        let run = try #require(try h.directory().runs().first)
        #expect(run.outcome == .completed && run.counts.created == 10 && run.counts.fetched == 11)
    }

    @Test func noChangeRerunWritesNoUserOrAuditRows() async throws {
        let h = try Harness(sim: try Simulator())
        _ = await h.cli("reconcile")
        let audit = try h.directory().audit().count
        let stamps = try h.directory().users().map(\.updatedAt)
        #expect(await h.cli("reconcile").code == 0)
        #expect(try h.directory().audit().count == audit)
        #expect(try h.directory().users().map(\.updatedAt) == stamps)
        #expect(try h.directory().runs().first?.counts.unchanged == 10)
    }

    @Test func eachSourceChangeEndsInTheSpecState() async throws {
        let h = try Harness(sim: try Simulator())
        _ = await h.cli("reconcile")
        let bobID = try #require(try h.user(source: bob)).user.id
        _ = await h.cli("users", "activate", String(bobID))
        try h.sim.control("/_sim/users/\(ann)/rename", #"{"name": "Ann Lee-Smith"}"#)
        try h.sim.control("/_sim/users/\(chen)/email", #"{"email": "wei.chen@abc-energy.example"}"#)
        try h.sim.control("/_sim/users/\(bob)/suspend")
        try h.sim.control("/_sim/users/\(eve)/delete")
        try h.sim.control("/_sim/users/\(kai)/downgrade")
        #expect(await h.cli("reconcile").code == 0)
        #expect(try h.user(source: ann)?.user.name == "Ann Lee-Smith")
        #expect(try h.user(source: chen)?.user.email == "wei.chen@abc-energy.example")
        let b = try #require(try h.user(source: bob)).user
        #expect(b.status == .deactivated && b.deactivatedBy == .sync && b.reason == "suspended in source")
        let e = try #require(try h.user(source: eve)).user
        #expect(e.status == .deactivated && e.reason == "missing from source")
        let k = try #require(try h.user(source: kai)).user
        #expect(k.status == .deactivated && k.deactivatedBy == .sync)
        // Reactivation: back in scope restores the status sync took away.
        try h.sim.control("/_sim/users/\(bob)/unsuspend")
        try h.sim.control("/_sim/users/\(kai)/role", #"{"role": "agent"}"#)
        #expect(await h.cli("reconcile").code == 0)
        #expect(try h.user(source: bob)?.user.status == .active)
        #expect(try h.user(source: kai)?.user.status == .pending)
        // An admin's deactivation is never undone.
        let lenaID = try #require(try h.user(source: lena)).user.id
        _ = await h.cli("users", "deactivate", String(lenaID))
        try h.sim.control("/_sim/users/\(lena)/rename", #"{"name": "Lena V."}"#)
        _ = await h.cli("reconcile")
        let l = try #require(try h.user(source: lena)).user
        #expect(l.status == .deactivated && l.deactivatedBy == .admin && l.name == "Lena V.")
    }

    @Test func rateLimitIsWaitedOut() async throws {
        let h = try Harness(sim: try Simulator(["--generate", "250"]), roles: #"["agent", "admin"]"#)
        try h.sim.control("/_sim/faults", #"{"rate_limit_next": 2, "retry_after": 1}"#)
        let started = Date()
        let r = await h.cli("reconcile")
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("rate limited (429); waiting 1.00s"))
        #expect(Date().timeIntervalSince(started) >= 2)
        #expect(try h.directory().users().count == 250)
    }

    @Test func serverErrorsAndTruncatedPagesAreRetried() async throws {
        let h = try Harness(sim: try Simulator(["--generate", "250"]), roles: #"["agent", "admin"]"#)
        try h.sim.control("/_sim/faults", #"{"error_next": 2, "truncate_next": 1}"#)
        let r = await h.cli("reconcile")
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("HTTP 500; retrying"))
        #expect(r.err.contains("malformed response"))
        #expect(try h.directory().users().count == 250)
    }

    @Test func failureMidListingDeactivatesNobody() async throws {
        let h = try Harness(sim: try Simulator(["--generate", "250"]), roles: #"["agent", "admin"]"#)
        #expect(await h.cli("reconcile").code == 0)
        // Users that would be missing from a complete listing...
        try h.sim.control("/_sim/users/1000010/downgrade")
        try h.sim.control("/_sim/users/1000200/delete")
        // ...but the listing breaks on page 2 every time.
        try h.sim.control("/_sim/faults", #"{"fail_page": 2}"#)
        let r = await h.cli("reconcile")
        #expect(r.code == 1)
        #expect(r.out.contains("stopped at page 2"))
        #expect(try h.directory().users(status: .deactivated).isEmpty)
        let run = try #require(try h.directory().runs().first)
        #expect(run.outcome == .failed && run.error?.contains("stopped at page 2") == true)
        try h.sim.control("/_sim/faults", #"{"fail_page": 0}"#)
        #expect(await h.cli("reconcile").code == 0)
        #expect(try h.directory().users(status: .deactivated).count == 2)
    }

    @Test func guardHoldsMassDeactivationUntilConfirmed() async throws {
        let h = try Harness(sim: try Simulator(["--generate", "60"]), roles: #"["agent", "admin"]"#)
        #expect(await h.cli("reconcile").code == 0)
        for i in 0..<8 { try h.sim.control("/_sim/users/\(1_000_000 + i)/suspend") }
        // 8 deactivations > max(5, 60/10 = 6): held.
        let held = await h.cli("reconcile")
        #expect(held.code == 0)
        #expect(held.out.contains("held") && held.out.contains("--confirm-deactivations"))
        #expect(try h.directory().users(status: .deactivated).isEmpty)
        #expect(try h.directory().heldDeactivations().count == 8)
        let counts = try #require(try h.directory().runs().first).counts
        #expect(counts.fetched == 60 && counts.unchanged == 52 && counts.held == 8 && counts.deactivated == 0,
                "each user counted once: \(counts)")
        let status = await h.cli("status", "--json")
        #expect(status.out.contains("\"held_deactivations\": [") && status.out.contains("suspended in source"))
        let confirmed = await h.cli("reconcile", "--confirm-deactivations")
        #expect(confirmed.code == 0)
        #expect(try h.directory().users(status: .deactivated).count == 8)
        #expect(try h.directory().heldDeactivations().isEmpty)
        let last = try #require(try h.directory().runs().first).counts
        #expect(last.deactivated == 8 && last.unchanged == 52, "\(last)")
    }

    @Test func anAdminsConfirmationIsNotedOnTheRunThatHeld() async throws {
        let h = try Harness(sim: try Simulator(["--generate", "60"]), roles: #"["agent", "admin"]"#)
        #expect(await h.cli("reconcile").code == 0)
        for i in 0..<8 { try h.sim.control("/_sim/users/\(1_000_000 + i)/suspend") }
        #expect(await h.cli("reconcile").code == 0)
        #expect(try h.directory().confirmHeldDeactivations(source: .zendesk, cause: .admin("api:ops")) == 8)
        let run = try #require(try h.directory().runs().first)
        #expect(run.outcome == .held)
        #expect(run.error?.contains("confirm with") == false && run.error?.contains("confirmed at") == true, "\(run.error ?? "")")
        let status = await h.cli("status")
        #expect(!status.out.contains("--confirm-deactivations") && status.out.contains("held deactivations 0"))
    }

    @Test func belowTheGuardDeactivationsApplyAtOnce() async throws {
        let h = try Harness(sim: try Simulator(["--generate", "60"]), roles: #"["agent", "admin"]"#, maxDeactivations: "10")
        _ = await h.cli("reconcile")
        for i in 0..<8 { try h.sim.control("/_sim/users/\(1_000_000 + i)/suspend") }
        #expect(await h.cli("reconcile").code == 0)
        #expect(try h.directory().users(status: .deactivated).count == 8)
    }

    @Test func unauthorizedMarksAuthBrokenInStatus() async throws {
        let h = try Harness(sim: try Simulator())
        try h.sim.control("/_sim/faults", #"{"unauthorized": true}"#)
        let r = await h.cli("reconcile")
        #expect(r.code == 1)
        let s = await h.cli("status")
        #expect(s.out.contains("auth BROKEN"))
        #expect(!s.out.contains(Simulator.token))
        try h.sim.control("/_sim/faults", #"{"unauthorized": false}"#)
        #expect(await h.cli("reconcile").code == 0)
        #expect(await h.cli("status").out.contains("auth ok"))
    }

    @Test func customRolesSelectByName() async throws {
        let h = try Harness(sim: try Simulator(), roles: #"["Team Lead"]"#)
        #expect(await h.cli("reconcile").code == 0)
        let names = try h.directory().users().map(\.user.name).sorted()
        #expect(names == ["Chen Wei", "Ivy Chen"])
    }

    @Test func incrementalCatchUpAppliesChangesWithoutDeactivatingForAbsence() async throws {
        let h = try Harness(sim: try Simulator())
        _ = await h.cli("reconcile")
        try h.directory().updateSourceState(.zendesk) { $0.incrementalCursor = "start:0" }
        try h.sim.control("/_sim/users/\(ann)/rename", #"{"name": "Ann Incremental", "silent": true}"#)
        try h.sim.control("/_sim/users/\(bob)/suspend", #"{"silent": true}"#)
        let r = await h.cli("reconcile", "--incremental")
        #expect(r.code == 0, "\(r.err)")
        #expect(try h.user(source: ann)?.user.name == "Ann Incremental")
        #expect(try h.user(source: bob)?.user.status == .deactivated)
        #expect(try h.directory().users(status: .deactivated).count == 1)
        #expect(try h.directory().sourceState(.zendesk).incrementalCursor?.contains("_") == true)
    }

    @Test func installWebhookStoresTheSigningSecret() async throws {
        let h = try Harness(sim: try Simulator())
        let r = await h.cli("zendesk", "install-webhook", "--url", "http://127.0.0.1:9/webhooks/zendesk/abc-energy")
        #expect(r.code == 0, "\(r.err)")
        let state = try h.directory().sourceState(.zendesk)
        #expect(state.webhookID?.hasPrefix("01") == true)
        #expect((state.webhookSecret?.count ?? 0) >= 40)
        #expect(!r.out.contains(state.webhookSecret!))
    }

    /// Re-running it keeps one webhook: the existing one is realigned and its secret reset,
    /// and duplicates someone else created for the same endpoint are deleted (reference §7).
    @Test func installWebhookIsIdempotent() async throws {
        let h = try Harness(sim: try Simulator())
        let url = "http://127.0.0.1:9/webhooks/zendesk/abc-energy"
        #expect(await h.cli("zendesk", "install-webhook", "--url", url).code == 0)
        let first = try h.directory().sourceState(.zendesk)
        // A duplicate made by hand (the same name and endpoint), and one for another endpoint.
        for endpoint in [url, "http://127.0.0.1:9/elsewhere"] {
            let body = #"{"webhook":{"name":"usersync users","endpoint":"\#(endpoint)","subscriptions":["zen:event-type:user.created"]}}"#
            let made = try h.sim.http.perform(ClientRequest(method: "POST", url: h.sim.baseURL + "/api/v2/webhooks",
                headers: [("Authorization", Simulator.basicAuth), ("Content-Type", "application/json")], body: Array(body.utf8)))
            #expect(made.status == 201)
        }
        let again = await h.cli("zendesk", "install-webhook", "--url", url)
        #expect(again.code == 0, "\(again.err)")
        let second = try h.directory().sourceState(.zendesk)
        #expect(second.webhookID == first.webhookID, "the same webhook, kept")
        #expect(second.webhookSecret == first.webhookSecret, "and its secret: an instance that did not run it still verifies")
        #expect(await h.cli("zendesk", "install-webhook", "--url", url, "--rotate").code == 0)
        let third = try h.directory().sourceState(.zendesk)
        #expect(third.webhookID == first.webhookID && third.webhookSecret != first.webhookSecret, "--rotate resets it")
        let list = try h.sim.http.perform(ClientRequest(url: h.sim.baseURL + "/api/v2/webhooks?filter%5Bname_contains%5D=usersync",
                                                        headers: [("Authorization", Simulator.basicAuth)]))
        let hooks = try #require(try JSONSerialization.jsonObject(with: Data(list.body)) as? [String: Any])["webhooks"] as? [[String: Any]]
        #expect(hooks?.filter { $0["endpoint"] as? String == url }.count == 1, "the duplicate is gone")
        #expect(hooks?.count == 2, "another endpoint's webhook is left alone")
    }

    @Test func oauthConnectExchangesAndRefreshesTokens() async throws {
        let sim = try Simulator()
        let secretFile = TemporaryFolder()
        let secret = try secretFile.write("client-secret", "sim-client-secret")
        let auth = #"{"type": "oauth", "client_id": "usersync", "client_secret_file": "\#(secret)", "#
            + #""redirect_url": "http://127.0.0.1:9/cb"}"#
        let h = try Harness(sim: sim, auth: auth)
        let begin = await h.cli("zendesk", "connect")
        #expect(begin.code == 0, "\(begin.err)")
        let lines = begin.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let url = try #require(lines.first { $0.hasPrefix("http") })
        #expect(url.contains("code_challenge_method=S256") && url.contains("state="))
        // The simulator "clicks Allow" and redirects with a code.
        let redirect = try sim.http.perform(ClientRequest(url: url))
        #expect(redirect.status == 302)
        let location = try #require(redirect.header("location"))
        let code = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "code" }?.value)
        let done = await h.cli("zendesk", "connect", "--code", code)
        #expect(done.code == 0, "\(done.err)")
        let before = try h.directory().sourceState(.zendesk)
        #expect(before.oauthAccessToken != nil && before.oauthRefreshToken != nil)
        #expect(await h.cli("reconcile").code == 0)
        // Near expiry: the next call refreshes and rotates both tokens.
        try h.directory().updateSourceState(.zendesk) { $0.oauthExpiresAt = Int64(Date().timeIntervalSince1970) + 10 }
        #expect(await h.cli("reconcile").code == 0)
        let after = try h.directory().sourceState(.zendesk)
        #expect(after.oauthAccessToken != before.oauthAccessToken)
        #expect(after.oauthRefreshToken != before.oauthRefreshToken)
        // A wrong verifier is refused.
        #expect(await h.cli("zendesk", "connect", "--code", "bogus").code == 1)
    }
}

/// The client's lenient decoding on a real listing from the simulator.
@Suite struct ZendeskClientTests {
    @Test func showUserAndMissingUser() async throws {
        let sim = try Simulator()
        let token = ZendeskClient.Credentials.apiToken(email: Simulator.email, token: Simulator.token)
        let client = ZendeskClient(settings: .init(baseURL: sim.baseURL, credentials: token, roles: ["agent", "Team Lead"]))
        let chen = try #require(try await client.fetchUser(id: "6596848315903"))
        #expect(chen.customRoleName == "Team Lead" && chen.customRoleID == "360001")
        #expect(chen.updatedAt == Timestamp(iso8601: "2026-11-01T09:00:00Z"))
        #expect(try await client.fetchUser(id: "42") == nil)
        let hugo = try #require(try await client.fetchUser(id: "6596848315908"))
        #expect(!hugo.active && hugo.email == nil)
    }

    /// A page read lazily (scanned, users decoded when asked) and eagerly (decoded as read)
    /// gives the same ids, the same users and the same digests, so a first import records
    /// what a later run compares against; a renamed custom role changes the digests.
    @Test func lazyAndEagerListingsAgree() async throws {
        let sim = try Simulator()
        let token = ZendeskClient.Credentials.apiToken(email: Simulator.email, token: Simulator.token)
        let client = ZendeskClient(settings: .init(baseURL: sim.baseURL, credentials: token, roles: ["agent", "admin", "Team Lead"]))
        func list(eager: Bool) async throws -> (ids: [String], digests: [UInt64], users: [SourceUser]) {
            var out: (ids: [String], digests: [UInt64], users: [SourceUser]) = ([], [], [])
            try await client.listUsers(decodeEagerly: eager) { page in
                out.ids += page.ids
                out.digests += page.digests
                out.users += try page.users()
            }
            return out
        }
        let lazy = try await list(eager: false), eager = try await list(eager: true)
        #expect(lazy.ids.count == 11 && lazy.ids == eager.ids && lazy.digests == eager.digests && lazy.users == eager.users)
        #expect(lazy.users.map(\.id) == lazy.ids)
        #expect(Set(lazy.digests).count == lazy.digests.count)
        try sim.control("/_sim/custom_roles/360001/rename", #"{"name": "Team Leader"}"#)
        let renamed = try await list(eager: false)
        #expect(renamed.users.contains { $0.customRoleName == "Team Leader" })
        #expect(Set(renamed.digests).isDisjoint(with: lazy.digests))
    }

    /// A listing runs on the client's own queue between its pages; another task's request
    /// on the same client, even one the listing waits for, is served in between.
    @Test func otherRequestsAreServedWhileAListingRuns() async throws {
        let sim = try Simulator(["--generate", "250"])
        let token = ZendeskClient.Credentials.apiToken(email: Simulator.email, token: Simulator.token)
        let client = ZendeskClient(settings: .init(baseURL: sim.baseURL, credentials: token, roles: ["agent", "admin"]))
        var fetched: [String] = []
        try await client.listUsers(decodeEagerly: false) { page in
            let id = page.ids[0]
            let other = Task { try await client.fetchUser(id: id) }
            if let u = try await other.value { fetched.append(u.id) }
        }
        #expect(fetched.count == 3)
    }

    @Test func wrongTokenIsAuthBroken() async throws {
        let sim = try Simulator()
        let token = ZendeskClient.Credentials.apiToken(email: Simulator.email, token: "nope")
        let client = ZendeskClient(settings: .init(baseURL: sim.baseURL, credentials: token, roles: ["agent"]))
        await #expect(throws: SourceError.self) { try await client.listUsers(decodeEagerly: false) { _ in } }
    }
}
