import Directory
import Foundation
import HTTPClient
import SyncRules
import TestSupport
import Testing

// Nested in ServeTests (serialized): real processes and blocking waits take turns, so the
// cooperative pool keeps threads for the in-process tests beside them.
extension ServeTests {
/// One full run per tenant source at a time, across `serve`, the CLI and config reloads.
@Suite(.serialized) struct RunLeaseTests {
    @Test func cliReconcileBesideARunningServeRunIsRefusedAndTheAPIAnswers409() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        try h.sim.control("/_sim/faults", #"{"list_delay_ms": 1500}"#)
        #expect(try h.api("POST", "/api/tenants/abc-energy/sources/zendesk/reconcile").status == 202)
        #expect(try h.eventually { try h.directory().runLease(source: .zendesk) != nil })
        let cli = try ChildProcess(Products.path("usersync"), ["--config", h.config, "reconcile"], waitFor: nil)
        cli.process.waitUntilExit()
        #expect(cli.process.terminationStatus == 1)
        #expect(cli.log.contains("held by") && cli.log.contains("serve"), "\(cli.log)")
        #expect(try h.api("POST", "/api/tenants/abc-energy/sources/zendesk/reconcile").status == 409)
        #expect(try h.eventually { try h.directory().runLease(source: .zendesk) == nil })

        // And the other way round: the CLI's run makes the admin API answer 409.
        let held = try ChildProcess(Products.path("usersync"), ["--config", h.config, "reconcile"], waitFor: nil)
        #expect(try h.eventually { try h.directory().runLease(source: .zendesk)?.owner.hasSuffix("cli") == true })
        #expect(try h.api("POST", "/api/tenants/abc-energy/sources/zendesk/reconcile").status == 409)
        held.process.waitUntilExit()
        #expect(held.process.terminationStatus == 0, "\(held.log)")
        let fulls = try h.directory().runs().filter { $0.kind == .full }
        #expect(fulls.filter { $0.outcome == .completed }.count == 3)
        #expect(fulls.allSatisfy { $0.outcome != .running })
    }

    @Test func aRunThatDiedWithItsProcessIsAbandonedWhenServeStarts() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        h.serve.stop(signal: SIGTERM)
        // What a `kill -9` mid-run leaves: a full run `running`, its lease, a deferred deactivation.
        let dir = try h.directory()
        let dead = "999999@\(SQLiteShell.hostName) serve"
        try SQLiteShell.exec(dir.path, """
            INSERT INTO runs (source, kind, started_at, owner, listing_started_ns)
            VALUES ('zendesk', 'full', '2026-01-01T00:00:00Z', '\(dead)', 0);
            INSERT INTO run_leases (source, run_id, owner, heartbeat_at, expires_at)
            VALUES ('zendesk', last_insert_rowid(), '\(dead)', 0, 9999999999)
            ON CONFLICT (source) DO UPDATE SET run_id = excluded.run_id, owner = excluded.owner, expires_at = excluded.expires_at;
            INSERT INTO deactivations (source, source_user_id, user_id, run_id, reason, state)
            SELECT 'zendesk', '6596848315901', (SELECT user_id FROM links WHERE source_user_id = '6596848315901'),
                   (SELECT max(id) FROM runs), 'missing from source', 'deferred';
            """)
        let deadRun = try #require(try dir.runs().first { $0.outcome == .running }).id
        try h.start()
        #expect(try h.eventually { try h.directory().runs().first { $0.id == deadRun }?.outcome == .abandoned })
        #expect(try h.directory().runLease(source: .zendesk) == nil)
        #expect(try SQLiteShell.query(dir.path, "SELECT count(*) FROM deactivations WHERE state = 'deferred'") == "0")
        let counted = #"usersync_reconcile_runs_total{tenant="abc-energy",source="zendesk",kind="full",outcome="abandoned"} 1"#
        #expect(try h.metrics().contains(counted))
    }

    @Test func reloadMidImportDeactivatesNobody() throws {
        let h = try ServeHarness(simFaults: #"{"list_delay_ms": 1200}"#)
        #expect(try h.eventually { try h.directory().runLease(source: .zendesk) != nil })
        // A reload that rebuilds the tenant's runtime while its import is under way.
        let text = try String(contentsOfFile: h.config, encoding: .utf8)
        try text.replacingOccurrences(of: "\"licence_limit\": 25", with: "\"licence_limit\": 26")
            .write(toFile: h.config, atomically: true, encoding: .utf8)
        kill(h.serve.process.processIdentifier, SIGHUP)
        #expect(try h.eventually(15) { try h.directory().runs().contains { $0.kind == .full && $0.outcome == .completed } })
        let dir = try h.directory()
        #expect(try dir.users().count == 10)
        #expect(try dir.users(status: .deactivated).isEmpty, "nobody was wrongly deactivated")
        #expect(try dir.runs().filter { $0.outcome == .running }.isEmpty)
        #expect(try dir.runs().contains { $0.outcome == .failed && $0.error?.contains("cancelled") == true },
                "the old runtime's run stopped between pages")
    }
}
}
