import Directory
import Foundation
import HTTPClient
import SyncRules
import TestSupport
import Testing
import Webhooks

/// `usersync serve` over real sockets: webhook statuses (SPEC §3–4), each user event type,
/// duplicates, the admin API, health and metrics, config reload and shutdown.
@Suite(.serialized) struct ServeTests {
    let ann = "6596848315901", bob = "6596848315902", chen = "6596848315903", eve = "6596848315905"
    let grace = "6596848315907", kai = "6596848315911"

    @Test func webhookStatusesFollowTheSpecOrder() throws {
        let h = try ServeHarness()
        let valid = ServeHarness.event(type: "user.name_changed", user: ann, current: #""Ann W""#)
        let signed = ServeHarness.signed(valid)
        #expect(try h.post("/webhooks/zendesk/nope", body: signed.body, headers: signed.headers).status == 404)
        #expect(try h.post("/webhooks/intercom/abc-energy", body: signed.body, headers: signed.headers).status == 404)
        let get = try h.http.perform(ClientRequest(url: h.baseURL + "/webhooks/zendesk/abc-energy"))
        #expect(get.status == 405 && get.header("allow")?.contains("POST") == true)
        #expect(try h.http.perform(ClientRequest(method: "HEAD", url: h.baseURL + "/webhooks/zendesk/abc-energy")).status == 200)

        // route (404) → size (413) → signature (401) → body (400)
        let big = try RawClient(port: h.port)
        big.send("POST /webhooks/zendesk/nope HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n")
        #expect(big.readResponse()?.status == 404)
        let big2 = try RawClient(port: h.port)
        big2.send("POST /webhooks/zendesk/abc-energy HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n")
        #expect(big2.readResponse()?.status == 413)
        #expect(try h.post("/webhooks/zendesk/abc-energy", body: signed.body, headers: [("Content-Type", "application/json")]).status == 401)
        #expect(try h.deliver(valid, secret: "wrong").status == 401)
        #expect(try h.deliver(valid, secret: ServeHarness.otherSecret).status == 401, "another tenant's secret never validates")
        let stale = ServeHarness.signed(valid, at: Date().addingTimeInterval(-7200))
        #expect(try h.post("/webhooks/zendesk/abc-energy", body: stale.body, headers: stale.headers).status == 401)
        #expect(try h.post("/webhooks/zendesk/abc-energy", body: signed.body + [0x20], headers: signed.headers).status == 401)
        // Refusals the head decides reach `Expect: 100-continue` senders instead of 100.
        let unsigned = try RawClient(port: h.port)
        unsigned.send("POST /webhooks/zendesk/abc-energy HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        #expect(unsigned.readResponse()?.status == 401)
        let old = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-7200))
        let expired = try RawClient(port: h.port)
        expired.send("POST /webhooks/zendesk/abc-energy HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            + "X-Zendesk-Webhook-Signature: x\r\nX-Zendesk-Webhook-Signature-Timestamp: \(old)\r\nContent-Length: 5\r\n\r\n")
        let refusal = try #require(expired.readResponse())
        #expect(refusal.status == 401 && refusal.body.contains("outside tolerance"))
        let fresh = ISO8601DateFormatter().string(from: Date())
        let proceed = try RawClient(port: h.port)
        proceed.send("POST /webhooks/zendesk/abc-energy HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            + "X-Zendesk-Webhook-Signature: x\r\nX-Zendesk-Webhook-Signature-Timestamp: \(fresh)\r\nContent-Length: 5\r\n\r\n")
        #expect(proceed.readResponse()?.status == 100, "the signature itself needs the body")
        proceed.send("hello")
        #expect(proceed.readResponse()?.status == 401)
        #expect(try h.deliver("{not json").status == 400)
        #expect(try h.deliver(#"{"type":"zen:event-type:user.created"}"#).status == 400)
        // Signed, but not UTF-8, or about something that is not a Zendesk user: 400.
        var latin1 = Array(ServeHarness.event(type: "user.name_changed", user: ann, current: #""X""#).utf8)
        latin1[try #require(latin1.firstIndex(of: UInt8(ascii: "X")))] = 0xFF
        let notUTF8 = ServeHarness.signed(bytes: latin1)
        #expect(try h.post("/webhooks/zendesk/abc-energy", body: notUTF8.body, headers: notUTF8.headers).status == 400)
        #expect(try h.deliver(ServeHarness.event(type: "user.name_changed", user: "abc", current: #""X""#)).status == 400)
        #expect(try h.deliver(#"{"type":"zen:event-type:user.name_changed","id":"no-user","event":{"current":"X"}}"#).status == 400)
        #expect(try h.directory().events().isEmpty)

        let first = try h.deliver(valid)
        #expect(first.status == 200 && String(decoding: first.body, as: UTF8.self).contains("stored"))
        let again = try h.deliver(valid)
        #expect(again.status == 200 && String(decoding: again.body, as: UTF8.self).contains("duplicate"))
        #expect(try h.deliver(ServeHarness.event(type: "ticket.created", user: ann)).status == 200)
        let events = try h.directory().events()
        #expect(events.count == 2)
        #expect(try h.eventually { try h.directory().events().allSatisfy { $0.status == .applied || $0.status == .ignored } })
        #expect(try h.directory().events().first { $0.type.hasSuffix("ticket.created") }?.status == .ignored)

        // A disabled source still checks the signature, then answers 200 and stores nothing.
        #expect(try h.deliver(valid, tenant: "other-co", secret: ServeHarness.otherSecret).status == 200)
        #expect(try h.deliver(valid, tenant: "other-co", secret: ServeHarness.secret).status == 401)
        #expect(try h.directory("other-co").events().isEmpty)
    }

    @Test func everyUserEventTypeEndsInTheSpecState() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        try h.sim.control("/_sim/webhooks", #"{"url": "\#(h.baseURL)/webhooks/zendesk/abc-energy", "secret": "\#(ServeHarness.secret)"}"#)
        func user(_ sid: String) throws -> LocalUser? { try h.directory().users().first { $0.links.contains { $0.sourceUserID == sid } }?.user }
        let bobID = try #require(try user(bob)).id
        _ = try h.api("POST", "/api/tenants/abc-energy/users/\(bobID)/activate")

        try h.sim.control("/_sim/users/\(ann)/rename", #"{"name": "Ann Renamed"}"#)
        try h.sim.control("/_sim/users/\(chen)/email", #"{"email": "wei.chen@abc-energy.example"}"#)
        try h.sim.control("/_sim/users/\(bob)/suspend")
        try h.sim.control("/_sim/users/\(eve)/delete")
        try h.sim.control("/_sim/users/\(kai)/downgrade")
        try h.sim.control("/_sim/users", #"{"id": 6596848315999, "name": "Nia New", "email": "nia@abc-energy.example", "role": "agent"}"#)
        #expect(try h.eventually { try user(ann)?.name == "Ann Renamed" })
        #expect(try h.eventually { try user(chen)?.email == "wei.chen@abc-energy.example" })
        #expect(try h.eventually { try user(bob)?.reason == "suspended in source" })
        #expect(try h.eventually { try user(eve)?.status == .deactivated })
        #expect(try h.eventually { try user(kai)?.reason == "downgraded to end-user in source" })
        #expect(try h.eventually { try user("6596848315999")?.status == .pending })
        // Back in scope: the status sync took away comes back.
        try h.sim.control("/_sim/users/\(bob)/unsuspend")
        #expect(try h.eventually { try user(bob)?.status == .active })
        // An unimported suspended agent who is reinstated is imported.
        try h.sim.control("/_sim/users/\(grace)/unsuspend")
        #expect(try h.eventually { try user(grace)?.status == .pending })
        // Moved to a custom role that is not selected: deactivated.
        try h.sim.control("/_sim/users/\(ann)/role", #"{"role": "agent", "custom_role_id": 360002}"#)
        #expect(try h.eventually { try user(ann)?.status == .pending }, "Advisor is an agent, and agents are selected")
        // Later events (e.g. the custom role change, which fetches) may still be settling.
        #expect(try h.eventually { try h.directory().events(limit: 100).allSatisfy { $0.status == .applied || $0.status == .ignored } })
    }

    @Test func redeliveredEventIsAppliedOnce() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let body = ServeHarness.event(id: "dup-1", type: "user.name_changed", user: ann, current: #""Ann Once""#)
        for _ in 0..<3 { #expect(try h.deliver(body).status == 200) }
        let annID = try #require(try h.directory().users().first { $0.links.contains { $0.sourceUserID == ann } }).user.id
        #expect(try h.eventually { try h.directory().user(id: annID)?.user.name == "Ann Once" })
        Thread.sleep(forTimeInterval: 0.2)
        #expect(try h.directory().audit(userID: annID).filter { $0.cause == "zendesk:dup-1" }.count == 1)
        #expect(try h.directory().events().filter { $0.eventID == "dup-1" }.count == 1)
        // An older event than the link holds is stale: no change.
        let old = ServeHarness.event(id: "old-1", type: "user.name_changed", user: ann, current: #""Ann Old""#,
                                     updatedAt: Date(timeIntervalSince1970: 1_000_000))
        #expect(try h.deliver(old).status == 200)
        #expect(try h.eventually { try h.directory().events(limit: 1000).first { $0.eventID == "old-1" }?.status == .ignored },
                "ignored as stale (SPEC §2)")
        #expect(try h.directory().user(id: annID)?.user.name == "Ann Once")
    }

    @Test func adminAPIChecksTokensPermissionsAndSeats() throws {
        let h = try ServeHarness(licenceLimit: 1)
        try h.waitForImport()
        #expect(try h.api("GET", "/api/tenants/abc-energy/users", token: nil).status == 401)
        #expect(try h.api("GET", "/api/tenants/abc-energy/users", token: "bogus").status == 401)
        // The scheme is case-insensitive (RFC 9110 §11.1).
        for scheme in ["bearer", "BEARER", "Bearer "] {
            let r = try h.http.perform(ClientRequest(url: h.baseURL + "/api/tenants/abc-energy/users",
                                                     headers: [("Authorization", "\(scheme) \(ServeHarness.opsToken)")]))
            #expect(r.status == 200, "scheme '\(scheme)'")
        }
        // Refused from the head: an `Expect: 100-continue` body is never asked for.
        let noToken = try RawClient(port: h.port)
        noToken.send("POST /api/tenants/abc-energy/users/1/deactivate HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            + "Content-Length: 2000\r\n\r\n")
        #expect(noToken.readResponse()?.status == 401)
        let scoped = try RawClient(port: h.port)
        scoped.send("POST /api/tenants/other-co/users/1/deactivate HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            + "Authorization: Bearer \(ServeHarness.usersToken)\r\nContent-Length: 2000\r\n\r\n")
        #expect(scoped.readResponse()?.status == 403)
        #expect(try h.api("GET", "/api/tenants/abc-energy/status", token: ServeHarness.usersToken).status == 403)
        #expect(try h.api("GET", "/api/tenants/other-co/users", token: ServeHarness.usersToken).status == 403)
        let list = try h.api("GET", "/api/tenants/abc-energy/users?status=pending", token: ServeHarness.usersToken)
        #expect(list.status == 200)
        let users = try #require(try JSONSerialization.jsonObject(with: Data(list.body)) as? [[String: Any]])
        #expect(users.count == 10)
        let ids = users.compactMap { $0["id"] as? Int }
        #expect(try h.api("POST", "/api/tenants/abc-energy/users/\(ids[0])/activate", token: ServeHarness.usersToken).status == 200)
        let refused = try h.api("POST", "/api/tenants/abc-energy/users/\(ids[1])/activate")
        #expect(refused.status == 409)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("no licence seat is free"))
        #expect(try h.api("POST", "/api/tenants/abc-energy/users/999999/activate").status == 404)
        #expect(try h.api("POST", "/api/tenants/abc-energy/users/\(ids[1])/deactivate").status == 200)
        let resolved = try h.api("GET", "/api/tenants/abc-energy/agents/resolve?source=zendesk&id=\(ann)")
        #expect(resolved.status == 200 && String(decoding: resolved.body, as: UTF8.self).contains("\"matched_by\":\"link\""))
        #expect(try h.api("GET", "/api/tenants/abc-energy/agents/resolve?email=nobody@x.com").status == 404)
        #expect(try h.api("GET", "/api/tenants/abc-energy/agents/resolve?source=foo&id=1").status == 400)
        let status = try h.api("GET", "/api/tenants/abc-energy/status")
        #expect(status.status == 200 && String(decoding: status.body, as: UTF8.self).contains("\"last_run\""))
        let run = try h.api("POST", "/api/tenants/abc-energy/sources/zendesk/reconcile")
        #expect(run.status == 202)
        #expect(try h.eventually { try h.directory().runs().filter { $0.kind == .full }.count >= 2 })
        #expect(try h.api("POST", "/api/tenants/abc-energy/sources/zendesk/confirm-deactivations").status == 200)
        #expect(try h.api("POST", "/api/tenants/other-co/sources/zendesk/reconcile").status == 409)
        #expect(!String(decoding: status.body, as: UTF8.self).contains(Simulator.token))
    }

    @Test func healthReadinessAndMetrics() throws {
        let h = try ServeHarness()
        #expect(try h.http.perform(ClientRequest(url: h.baseURL + "/healthz")).status == 200)
        #expect(try h.http.perform(ClientRequest(url: h.baseURL + "/readyz")).status == 200)
        _ = try h.deliver(ServeHarness.event(type: "user.name_changed", user: ann, current: #""M""#))
        let metrics = try h.http.perform(ClientRequest(url: h.baseURL + "/metrics"))
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(metrics.status == 200)
        for name in ["usersync_http_requests_total", "usersync_webhook_deliveries_total", "usersync_inbox_backlog", "usersync_users"] {
            #expect(text.contains("# TYPE \(name)"), "\(name)")
        }
        #expect(text.contains(#"usersync_webhook_deliveries_total{tenant="abc-energy",source="zendesk",outcome="stored"} 1"#))
    }

    @Test func configReloadKeepsTheOldConfigWhenTheNewOneIsInvalidAndEnablingStartsTheImport() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let original = try String(contentsOfFile: h.config, encoding: .utf8)
        try "{ broken".write(toFile: h.config, atomically: true, encoding: .utf8)
        kill(h.serve.process.processIdentifier, SIGHUP)
        #expect(h.eventually { h.serve.log.contains("config rejected") })
        #expect(try h.http.perform(ClientRequest(url: h.baseURL + "/healthz")).status == 200)
        #expect(try h.deliver(ServeHarness.event(type: "user.name_changed", user: ann, current: #""Still""#)).status == 200)
        // Enable other-co: its initial import starts at once, from the file change alone.
        try original.replacingOccurrences(of: #""enabled": false"#, with: #""enabled": true"#).write(toFile: h.config, atomically: true, encoding: .utf8)
        #expect(try h.eventually(15) { try h.directory("other-co").users().count > 0 })
    }

    @Test func reloadRefusesASecretItCannotReadAndRereadsARotatedSecretFile() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let original = try String(contentsOfFile: h.config, encoding: .utf8)
        let secretFile = h.folder.path + "/webhook-secret"
        // A file whose webhook secret cannot be read is refused: the old secret still verifies.
        try original.replacingOccurrences(of: secretFile, with: h.folder.path + "/missing-secret")
            .write(toFile: h.config, atomically: true, encoding: .utf8)
        kill(h.serve.process.processIdentifier, SIGHUP)
        #expect(h.eventually { h.serve.log.contains("config rejected") && h.serve.log.contains("zendesk.webhook_secret") })
        #expect(try h.deliver(ServeHarness.event(type: "user.name_changed", user: ann, current: #""Kept""#)).status == 200)
        #expect(!h.serve.log.contains("config reloaded"))
        // The same file again, its secret rotated: SIGHUP re-reads the secret.
        try original.write(toFile: h.config, atomically: true, encoding: .utf8)
        _ = try h.folder.write("webhook-secret", "whsec-rotated")
        kill(h.serve.process.processIdentifier, SIGHUP)
        #expect(try h.eventually {
            let rotated = ServeHarness.event(type: "user.name_changed", user: ann, current: #""New""#)
            return try h.deliver(rotated, secret: "whsec-rotated").status == 200
        })
        #expect(try h.deliver(ServeHarness.event(type: "user.name_changed", user: ann, current: #""Old""#)).status == 401)
    }

    @Test func aSecretUnreadableSinceStartDoesNotBlockReloads() throws {
        let h = try ServeHarness(extraTenant: """
            , {"id": "late-co", "features": ["integrations"], "licence_limit": 5,
               "zendesk": {"enabled": true, "subdomain": "late-co", "api_base_url": "http://127.0.0.1:9",
                 "auth": {"type": "api_token", "email": "a@b.c", "token_env": "LATE_CO_TOKEN_NOT_SET"},
                 "webhook_secret_file": "/nonexistent/late-co-secret", "roles": ["agent"]}}
            """)
        #expect(h.eventually { h.serve.log.contains("webhook secret unavailable") })
        let original = try String(contentsOfFile: h.config, encoding: .utf8)
        try original.replacingOccurrences(of: #""licence_limit": 5,"#, with: #""licence_limit": 6,"#)
            .write(toFile: h.config, atomically: true, encoding: .utf8)
        kill(h.serve.process.processIdentifier, SIGHUP)
        #expect(h.eventually { h.serve.log.contains("config reloaded") })
        #expect(!h.serve.log.contains("config rejected"))
    }

    @Test func sigtermDrainsAndExitsZero() throws {
        let h = try ServeHarness()
        h.serve.stop(signal: SIGTERM)
        #expect(h.serve.process.terminationStatus == 0)
        #expect(h.serve.log.contains("\"msg\":\"stopped\""))
    }

    @Test func cliCommandsWorkNextToARunningServer() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let cli = try ChildProcess(Products.path("usersync"), ["--config", h.config, "users", "list", "--tenant", "abc-energy", "--json"], waitFor: nil)
        cli.process.waitUntilExit()
        #expect(cli.process.terminationStatus == 0)
        #expect(h.eventually { cli.log.contains("\"links\"") })
    }
}

/// `kill -9` at any moment loses no acknowledged event and applies none twice.
@Suite(.serialized) struct CrashTests {
    @Test func killNineMidStreamLosesNoAcknowledgedEvent() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let users: [String] = ["6596848315901", "6596848315902", "6596848315903", "6596848315904", "6596848315905",
                               "6596848315906", "6596848315909", "6596848315910", "6596848315911", "6596848315912"]
        final class Acked: @unchecked Sendable {
            let lock = NSLock()
            var ids: [String] = []
            func add(_ id: String) { lock.withLock { ids.append(id) } }
            var all: [String] { lock.withLock { ids } }
        }
        let acked = Acked()
        let start = Date()
        let port = h.port
        let group = DispatchGroup()
        for worker in 0..<6 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let c = try? RawClient(port: port, receiveTimeout: 2) else { return }
                for i in 0..<400 {
                    let id = "crash-\(worker)-\(i)"
                    let offset: Double = Double(worker * 1000 + i) / 1000
                    let at = start.addingTimeInterval(offset)
                    let type = i % 5 == 0 ? "ticket.updated" : "user.name_changed"
                    let user = users[(worker + i) % users.count]
                    let current = "\"Name \(id)\""
                    let body = ServeHarness.event(id: id, type: type, user: user, current: current, updatedAt: at)
                    let s = ServeHarness.signed(body)
                    var req = "POST /webhooks/zendesk/abc-energy HTTP/1.1\r\nHost: t\r\nContent-Length: \(s.body.count)\r\n"
                    for (k, v) in s.headers { req += "\(k): \(v)\r\n" }
                    c.send(Array((req + "\r\n").utf8) + s.body)
                    guard let r = c.readResponse() else { return }
                    if r.status == 200 { acked.add(id) }
                }
            }
        }
        Thread.sleep(forTimeInterval: 0.3)
        h.serve.stop(signal: SIGKILL)
        group.wait()
        let confirmed = acked.all
        #expect(confirmed.count > 0)

        try h.start()
        let dir = try h.directory()
        #expect(try dir.integrityCheck() == "ok")
        let stored = Dictionary(try dir.events(limit: 100_000).map { ($0.eventID, $0) }, uniquingKeysWith: { a, _ in a })
        for id in confirmed { #expect(stored[id] != nil, "acknowledged event \(id) was lost") }
        #expect(try h.eventually(20) { try dir.events(limit: 100_000).allSatisfy { $0.status == .applied || $0.status == .ignored } })
        let causes = try dir.audit(limit: 1_000_000).filter { $0.causeKind == "event" }.map(\.cause)
        #expect(Set(causes).count == causes.count, "an event was applied twice")
        h.serve.stop(signal: SIGTERM)
        #expect(try h.directory().integrityCheck() == "ok")
    }
}
