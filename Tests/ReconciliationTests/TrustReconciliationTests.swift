import App
import Desks
import Directory
import Foundation
import HTTPClient
import Reconciliation
import SyncRules
import TestSupport
import Testing

/// Issue 7: the directory stays right under awkward data, overlapping runs and token
/// refreshes, against the real simulator and real SQLite files.
@Suite(.serialized) struct TrustReconciliationTests {
    let ann = "6596848315901", bob = "6596848315902", customer = "6596848315950"

    @Test func externalIDAndEmailHeldByTwoLocalUsersIsAConflictAndTheRunCompletes() async throws {
        let h = try Harness(sim: try Simulator())
        let byID = await h.cli("users", "add", "--name", "Imported Ann", "--email", "ann.old@abc-energy.example", "--external-id", ann)
        let byEmail = await h.cli("users", "add", "--name", "Ann From CSV", "--email", "ann.lee@abc-energy.example")
        #expect(byID.code == 0 && byEmail.code == 0)
        for _ in 0..<2 {
            let r = await h.cli("reconcile")
            #expect(r.code == 0, "every run completes: \(r.out) \(r.err)")
        }
        let dir = try h.directory()
        #expect(try dir.runs().first?.outcome == .completed)
        #expect(try dir.users().count == 11, "everyone after Ann is imported too (9 created + the two manual users)")
        let conflict = try #require(try dir.conflicts().first { $0.sourceUserID == ann })
        let holder = try #require(try dir.users().first { $0.user.email == "ann.lee@abc-energy.example" })
        let linked = try #require(try h.user(source: ann))
        #expect(Set(conflict.userIDs) == [holder.user.id, linked.user.id], "both local users are named")
        #expect(linked.user.email == "ann.old@abc-energy.example", "the clash is not an UPDATE")
        let status = await h.cli("status", "--json")
        #expect(status.out.contains("Ann From CSV") && status.out.contains("ann.old@abc-energy.example"))
    }

    @Test func aRuleTheStoreCannotCarryOutBecomesAConflictForThatUserOnly() async throws {
        let h = try Harness(sim: try Simulator())
        // A trigger stands in for a shape no rule foresaw: inserting Bob fails in the store.
        let dir = try h.directory()
        try SQLiteShell.exec(dir.path, """
            CREATE TRIGGER no_bob BEFORE INSERT ON users WHEN NEW.name = 'Bob Okafor'
            BEGIN SELECT RAISE(ABORT, 'bob cannot be stored'); END;
            """)
        let r = await h.cli("reconcile")
        #expect(r.code == 0, "\(r.out) \(r.err)")
        #expect(try h.user(source: bob) == nil)
        #expect(try dir.users().count == 9)
        let c = try #require(try dir.conflicts().first { $0.sourceUserID == bob })
        #expect(c.kind == "unapplicable" && c.detail.contains("bob cannot be stored"))
    }

    @Test func aRunInProgressRefusesASecondOneAndAnAbandonedRunIsMarked() async throws {
        let h = try Harness(sim: try Simulator())
        try h.sim.control("/_sim/faults", #"{"list_delay_ms": 1500}"#)
        let first = Task { await h.cli("reconcile") }
        #expect(try await eventually { try h.directory().runLease(source: .zendesk) != nil })
        let second = await h.cli("reconcile")
        #expect(second.code == 1)
        #expect(second.out.contains("held by \(getpid())@"), "says who holds it: \(second.out)")
        let done = await first.value
        #expect(done.code == 0, "\(done.err)")
        #expect(try h.directory().runs().filter { $0.kind == .full && $0.outcome == .completed }.count == 1)

        // A run left `running` by a dead process is abandoned at the next start.
        let dir = try h.directory()
        try SQLiteShell.exec(dir.path, """
            INSERT INTO runs (source, kind, started_at, owner, listing_started_ns) VALUES ('zendesk', 'full', '2026-01-01T00:00:00Z', '999999@\(SQLiteShell.hostName) cli', 0);
            INSERT INTO run_leases (source, run_id, owner, heartbeat_at, expires_at) VALUES ('zendesk', last_insert_rowid(), '999999@\(SQLiteShell.hostName) cli', 0, 9999999999)
            ON CONFLICT (source) DO UPDATE SET run_id = excluded.run_id, owner = excluded.owner, expires_at = excluded.expires_at;
            INSERT INTO deactivations (source, source_user_id, user_id, run_id, reason, state)
            SELECT 'zendesk', '\(ann)', (SELECT user_id FROM links WHERE source_user_id = '\(ann)'), (SELECT max(id) FROM runs), 'missing from source', 'deferred';
            """)
        try h.sim.control("/_sim/faults", #"{"list_delay_ms": 0}"#)
        #expect(await h.cli("reconcile").code == 0)
        let runs = try dir.runs()
        #expect(runs.contains { $0.outcome == .abandoned })
        #expect(try h.user(source: ann)?.user.status == .pending, "its deferred work was discarded")
    }

    @Test func aUserUpgradedWhileARunIsPastThemIsNotMissingForThatRun() async throws {
        let h = try Harness(sim: try Simulator())
        #expect(await h.cli("reconcile").code == 0)
        try h.sim.control("/_sim/faults", #"{"list_delay_ms": 1200}"#)
        let before = try listPages(h)
        let run = Task { await h.cli("reconcile") }
        // The listing page is computed (without the customer); then they become an agent and
        // a webhook-like pass links them while the run is still under way.
        #expect(try await eventually { try listPages(h) > before })
        try h.sim.control("/_sim/users/\(customer)/role", #"{"role": "agent", "silent": true}"#)
        let inc = await h.cli("reconcile", "--incremental")
        #expect(inc.code == 0, "\(inc.err)")
        #expect(try h.user(source: customer)?.user.status == .pending)
        let r = await run.value
        #expect(r.code == 0, "\(r.err)")
        #expect(try h.user(source: customer)?.user.status == .pending, "not deactivated as missing from source")
    }

    @Test func concurrentRefreshesExchangeTheTokenOnce() async throws {
        let sim = try Simulator()
        let secrets = TemporaryFolder()
        let secret = try secrets.write("client-secret", "sim-client-secret")
        let h = try Harness(sim: sim, auth: #"{"type": "oauth", "client_id": "usersync", "client_secret_file": "\#(secret)", "redirect_url": "http://127.0.0.1:9/cb"}"#)
        let begin = await h.cli("zendesk", "connect")
        let url = try #require(begin.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("http") })
        let location = try #require(try sim.http.perform(ClientRequest(url: url)).header("location"))
        let code = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "code" }?.value)
        #expect(await h.cli("zendesk", "connect", "--code", code).code == 0)
        try h.directory().updateSourceState(.zendesk) { $0.oauthExpiresAt = Int64(Date().timeIntervalSince1970) + 10 }
        let grantsBefore = try grants(sim)

        // Two processes and, inside each, two runs at once all need a fresh token.
        let cli = Products.path("usersync")
        let procs = try (0..<2).map { _ in
            try ChildProcess(cli, ["--config", h.config, "reconcile", "--incremental"], environment: ["USERSYNC_BACKOFF_BASE_MS": "20"], waitFor: nil)
        }
        async let a = h.cli("reconcile", "--incremental")
        async let b = h.cli("reconcile", "--incremental")
        let (ra, rb) = await (a, b)
        for p in procs { p.process.waitUntilExit() }
        #expect(ra.code == 0 && rb.code == 0, "\(ra.err) \(rb.err)")
        #expect(procs.allSatisfy { $0.process.terminationStatus == 0 }, "\(procs.map(\.log))")
        #expect(try grants(sim) == grantsBefore + 1, "one token exchange for four callers")
        #expect(try h.directory().sourceState(.zendesk).authBroken == false)
    }

    private func grants(_ sim: Simulator) throws -> Int { try stat(sim, "oauth_grants") }
    private func listPages(_ h: Harness) throws -> Int { try stat(h.sim, "list_pages") }

    private func stat(_ sim: Simulator, _ key: String) throws -> Int {
        let body = try sim.get("/_sim/stats").body
        let o = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Int]
        return o?[key] ?? 0
    }
}

/// Polls `condition` every 20 ms for up to `timeout` seconds.
func eventually(_ timeout: Double = 10, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try condition()
}
