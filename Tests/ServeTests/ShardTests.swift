import Foundation
import HTTPClient
import TestSupport
import Testing

/// Scale-out by tenant (SPEC §5): tenants outside the instance's shard answer 404, are
/// never scheduled and get no database in its data directory; reload moves them.
@Suite(.serialized) struct ShardTests {
    let ann = "6596848315901"

    func databaseExists(_ h: ServeHarness, _ tenant: String) -> Bool {
        FileManager.default.fileExists(atPath: h.folder.path + "/data/tenants/\(tenant).sqlite")
    }

    func other(_ h: ServeHarness) throws -> Int {
        try h.deliver(ServeHarness.event(type: "user.name_changed", user: ann, current: #""X""#), tenant: "other-co",
                      secret: ServeHarness.otherSecret).status
    }

    @Test func tenantsFlagServesOnlyItsTenants() throws {
        let h = try ServeHarness(serveArguments: ["--tenants", "abc-energy"])
        try h.waitForImport()
        #expect(try h.deliver(ServeHarness.event(type: "user.name_changed", user: ann, current: #""Ann S""#)).status == 200)
        #expect(try other(h) == 404)
        #expect(try h.http.perform(ClientRequest(method: "HEAD", url: h.baseURL + "/webhooks/zendesk/other-co")).status == 404)
        #expect(try h.api("GET", "/api/tenants/other-co/users").status == 404)
        #expect(try h.api("GET", "/api/tenants/other-co/status").status == 404)
        #expect(try h.api("POST", "/api/tenants/other-co/sources/zendesk/reconcile").status == 404)
        #expect(try h.api("GET", "/api/tenants/abc-energy/users").status == 200)
        let metrics = String(decoding: try h.http.perform(ClientRequest(url: h.baseURL + "/metrics")).body, as: UTF8.self)
        #expect(metrics.contains(#"tenant="abc-energy""#) && !metrics.contains("other-co"))
        #expect(databaseExists(h, "abc-energy"))
        #expect(!databaseExists(h, "other-co"), "a tenant outside the shard gets no database here")
        // The instance's CLI commands given the same list keep to it.
        let status = try h.cli(["status", "--tenants", "abc-energy"])
        #expect(status.status == 0 && status.out.contains("abc-energy") && !status.out.contains("other-co"))
        #expect(try h.cli(["reconcile", "--tenants", "abc-energy"]).status == 0)
        #expect(!databaseExists(h, "other-co"))
        #expect(try h.cli(["status", "--tenants", "nope"]).status == 2)
        // Naming another instance's tenant is refused, and makes no database for it.
        let elsewhere = try h.cli(["users", "list", "--tenants", "abc-energy", "--tenant", "other-co"])
        #expect(elsewhere.status == 2 && elsewhere.err.contains("not in this instance's shard"))
        #expect(try h.cli(["reconcile", "--tenants", "abc-energy", "--tenant", "other-co"]).status == 2)
        #expect(!databaseExists(h, "other-co"))
    }

    @Test func flagWinsAndReloadMovesTenantsInAndOut() throws {
        let h = try ServeHarness()
        let original = try String(contentsOfFile: h.config, encoding: .utf8)
        func shard(_ ids: String) throws {
            try original.replacingOccurrences(of: #"{"listen""#, with: #"{"shard": {"tenants": [\#(ids)]}, "listen""#)
                .write(toFile: h.config, atomically: true, encoding: .utf8)
            kill(h.serve.process.processIdentifier, SIGHUP)
        }
        #expect(try other(h) == 200)
        try shard(#""abc-energy""#)
        #expect(try h.eventually { try other(h) == 404 }, "removing a tenant from the shard stops it")
        #expect(try h.deliver(ServeHarness.event(type: "user.name_changed", user: ann, current: #""Ann R""#)).status == 200)
        try shard(#""abc-energy", "other-co""#)
        #expect(try h.eventually { try other(h) == 200 })
        try shard(#""nope""#)
        #expect(h.eventually { h.serve.log.contains("config rejected") }, "unknown shard tenants are a config error")
        #expect(try other(h) == 200)

        // A tenant that leaves takes its last-success gauge with it (its counters stay).
        let lastSuccess = #"usersync_reconcile_last_success_timestamp_seconds{tenant="abc-energy""#
        #expect(try h.eventually { try h.metrics().contains(lastSuccess) })
        try shard(#""other-co""#)
        #expect(try h.eventually { try !h.metrics().contains(lastSuccess) })

        // `--tenants` wins over `shard.tenants`, across reloads too.
        h.serve.stop()
        let flagged = try ServeHarness(serveArguments: ["--tenants", "abc-energy"])
        try String(contentsOfFile: flagged.config, encoding: .utf8).replacingOccurrences(of: #"{"listen""#, with: #"{"shard": {"tenants": ["other-co"]}, "listen""#)
            .write(toFile: flagged.config, atomically: true, encoding: .utf8)
        kill(flagged.serve.process.processIdentifier, SIGHUP)
        #expect(flagged.eventually { flagged.serve.log.contains("config reloaded") })
        #expect(try other(flagged) == 404)
        #expect(try flagged.api("GET", "/api/tenants/abc-energy/users").status == 200)
    }

    @Test func unknownTenantOrBadListenIsAUsageError() throws {
        let h = try ServeHarness()
        for (flag, value) in [("--tenants", "abc-energy,nope"), ("--listen", "nope")] {
            let bad = try ChildProcess(Products.path("usersync"), ["--config", h.config, "serve", flag, value], waitFor: nil)
            bad.process.waitUntilExit()
            #expect(bad.process.terminationStatus == 2)
            #expect(bad.log.contains("nope"))
        }
        let same = try ChildProcess(Products.path("usersync"),
                                    ["--config", h.config, "serve", "--listen", "127.0.0.1:47999", "--admin-listen", "127.0.0.1:47999"],
                                    waitFor: nil)
        same.process.waitUntilExit()
        #expect(same.process.terminationStatus == 2, "the same address for both is a usage error, not a failed bind")
    }

    @Test func listenFlagLetsTwoInstancesShareOneConfig() throws {
        let h = try ServeHarness(serveArguments: ["--tenants", "abc-energy"])
        let taken = "127.0.0.1:\(h.port)"
        let second = try ChildProcess(Products.path("usersync"), ["--config", h.config, "--data-dir", h.folder.path + "/data-b",
                                                                   "serve", "--tenants", "other-co", "--listen", "127.0.0.1:0"],
                                      waitFor: "\"address\":\"")
        #expect(second.port != 0 && second.baseURL != "http://" + taken)
        #expect(try other(h) == 404)
        let viaSecond = ServeHarness.signed(ServeHarness.event(type: "user.name_changed", user: ann, current: #""Y""#),
                                            secret: ServeHarness.otherSecret)
        let r = try h.http.perform(ClientRequest(method: "POST", url: second.baseURL + "/webhooks/zendesk/other-co",
                                                 headers: viaSecond.headers, body: viaSecond.body))
        #expect(r.status == 200)
        #expect(FileManager.default.fileExists(atPath: h.folder.path + "/data-b/tenants/other-co.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: h.folder.path + "/data-b/tenants/abc-energy.sqlite"))
    }
}
