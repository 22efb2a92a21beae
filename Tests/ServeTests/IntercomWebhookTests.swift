import Directory
import Foundation
import HTTPClient
import Signing
import SyncRules
import TestSupport
import Testing

// Nested in ServeTests (serialized): real processes and sockets, blocking waits.
extension ServeTests {
    /// `POST /webhooks/intercom/{tenant}` through a real `usersync serve` fed by intercom-sim.
    @Suite struct IntercomWebhookTests {
        let ann = "7100001", bob = "7100003"

        final class Harness: @unchecked Sendable {
            let folder = TemporaryFolder()
            let sim: IntercomSimulator
            let zendesk: Simulator?
            let serve: ChildProcess
            let http = HTTPClient()
            let config: String

            init(withZendesk: Bool = false) throws {
                sim = try IntercomSimulator()
                zendesk = withZendesk ? try Simulator() : nil
                let token = try folder.write("ic-token", IntercomSimulator.token)
                let secret = try folder.write("ic-secret", IntercomSimulator.clientSecret)
                let zdToken = try folder.write("zd-token", Simulator.token)
                var zendeskSection = ""
                if let z = zendesk {
                    zendeskSection = """
                    , "zendesk": {"enabled": true, "subdomain": "abc-energy", "api_base_url": "\(z.baseURL)",
                      "auth": {"type": "api_token", "email": "\(Simulator.email)", "token_file": "\(zdToken)"}, "roles": ["agent", "admin"]}
                    """
                }
                config = try folder.write("usersync.json", """
                {"listen": "127.0.0.1:0", "data_dir": "data", "tenants": [{"id": "abc-energy", "features": ["integrations"],
                  "licence_limit": 25, "intercom": {"enabled": true, "api_base_url": "\(sim.baseURL)",
                    "auth": {"type": "access_token", "token_file": "\(token)"}, "webhook_secret_file": "\(secret)",
                    "app_id": "abcenergy01"}\(zendeskSection)}]}
                """)
                serve = try ChildProcess(Products.path("usersync"), ["--config", config, "serve"],
                                         environment: ["USERSYNC_BACKOFF_BASE_MS": "20"], waitFor: "\"address\":\"")
            }

            var url: String { serve.baseURL + "/webhooks/intercom/abc-energy" }

            func directory() throws -> TenantDirectory { try TenantDirectory(dataDir: folder.path + "/data", tenant: "abc-energy") }

            func user(_ source: SourceKind, _ id: String) throws -> UserRecord? {
                try directory().users().first { $0.links.contains { $0.source == source && $0.sourceUserID == id } }
            }

            /// Waits until `condition` holds (see TestSupport's `eventually`).
            func eventually(_ timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
                try TestSupport.eventually(timeout, condition)
            }

            func waitForImport(_ source: SourceKind = .intercom) throws -> Bool {
                try eventually { try directory().runs(source: source).contains { $0.outcome == .completed } }
            }

            func subscribe() throws -> ClientResponse {
                try sim.control("/_sim/webhooks", #"{"url": "\#(url)"}"#)
            }

            func post(_ body: String, signature: String?) throws -> ClientResponse {
                var headers = [("Content-Type", "application/json")]
                if let signature { headers.append((IntercomSignature.header, signature)) }
                return try http.perform(ClientRequest(method: "POST", url: url, headers: headers, body: Array(body.utf8)))
            }

            func deliver(_ body: String) throws -> ClientResponse {
                try post(body, signature: IntercomSignature.sign(secret: IntercomSimulator.clientSecret, body: Array(body.utf8)))
            }
        }

        static func notification(id: String? = UUID().uuidString, topic: String, admin: String = "7100001",
                                 name: String = "Ann Lee", email: String = "ann.lee@abc-energy.example",
                                 appID: String = "abcenergy01", at: Int = Int(Date().timeIntervalSince1970)) -> String {
            let item = #"{"type":"admin","id":"\#(admin)","name":"\#(name)","email":"\#(email)","has_inbox_seat":true,"away_mode_enabled":false}"#
            return #"{"type":"notification_event","app_id":"\#(appID)","data":{"type":"notification_event_data","item":\#(item)},"id":\#(id.map { "\"\($0)\"" } ?? "null"),"topic":"\#(topic)","created_at":\#(at)}"#
        }

        @Test func headAnswers200AndTheSimulatorSubscribes() throws {
            let h = try Harness()
            #expect(try h.http.perform(ClientRequest(method: "HEAD", url: h.url)).status == 200)
            let r = try h.subscribe()
            #expect(r.status == 200, "\(String(decoding: r.body, as: UTF8.self))")
            #expect(try h.http.perform(ClientRequest(method: "HEAD", url: h.serve.baseURL + "/webhooks/intercom/nobody")).status == 404)
        }

        @Test func signaturesAndWorkspacesAreChecked() throws {
            let h = try Harness()
            #expect(try h.waitForImport())
            let body = Self.notification(topic: "admin.away_mode_updated")
            let bytes = Array(body.utf8)
            let good = IntercomSignature.sign(secret: IntercomSimulator.clientSecret, body: bytes)
            #expect(try h.post(body, signature: nil).status == 401, "missing")
            for bad in ["sha1=", "sha1=zz", String(good.dropFirst(5)), "sha256=" + good.dropFirst(5), good.uppercased().replacingOccurrences(of: "SHA1=", with: "md5=")] {
                #expect(try h.post(body, signature: bad).status == 401, "malformed: \(bad)")
            }
            #expect(try h.post(body, signature: IntercomSignature.sign(secret: "someone else's", body: bytes)).status == 401, "forged")
            #expect(try h.post(body + " ", signature: good).status == 401, "body changed")
            #expect(try h.deliver(Self.notification(topic: "admin.added_to_workspace", appID: "otherworkspace")).status == 401)
            #expect(try h.deliver("{not json").status == 400)
            #expect(try h.post(body, signature: good).status == 200)
            // A ping is verified and answered, never stored; other topics are stored as ignored.
            let before = try h.directory().events().count
            #expect(try h.deliver(Self.notification(id: nil, topic: "ping")).status == 200)
            #expect(try h.directory().events().count == before)
            #expect(try h.deliver(Self.notification(topic: "conversation.admin.replied")).status == 200)
            #expect(try h.eventually { try h.directory().events().first?.status == .ignored })
        }

        @Test func removalDeactivatesWithinASecondAndAwayModeDoesNot() throws {
            let h = try Harness()
            #expect(try h.waitForImport())
            #expect(try h.subscribe().status == 200)
            try h.sim.control("/_sim/admins/\(bob)/away", #"{"away": true}"#)
            try h.sim.control("/_sim/admins/\(ann)/remove")
            let sent = Date()
            #expect(try h.eventually(1) { try h.user(.intercom, ann)?.user.status == .deactivated })
            #expect(Date().timeIntervalSince(sent) < 1.5)
            #expect(try h.user(.intercom, ann)?.user.reason == "removed from workspace in source")
            #expect(try h.user(.intercom, bob)?.user.status == .pending, "away is not a deactivation")
            // Re-invited: restored.
            try h.sim.control("/_sim/admins", #"{"id": "\#(ann)", "name": "Ann Lee", "email": "ann.lee@abc-energy.example"}"#)
            #expect(try h.eventually { try h.user(.intercom, ann)?.user.status == .pending })
        }

        @Test func duplicatesApplyOnceAndAnOlderNotificationIsStale() throws {
            let h = try Harness()
            #expect(try h.waitForImport())
            #expect(try h.subscribe().status == 200)
            try h.sim.control("/_sim/faults", #"{"duplicate_next": 1}"#)
            try h.sim.control("/_sim/admins", #"{"id": "7100042", "name": "New Teammate", "email": "new@abc-energy.example"}"#)
            #expect(try h.eventually { try h.user(.intercom, "7100042") != nil })
            #expect(try h.eventually { try h.sim.stats()["notifications_delivered"] ?? 0 >= 2 }, "the duplicate was delivered")
            #expect(try h.directory().users().filter { $0.user.name == "New Teammate" }.count == 1)
            #expect(try h.directory().events().filter { $0.type == "admin.added_to_workspace" }.count == 1)

            // Delivered out of order: the removal (older) arrives after the re-add (newer).
            let now = Int(Date().timeIntervalSince1970) + 5
            #expect(try h.deliver(Self.notification(topic: "admin.added_to_workspace", admin: bob, name: "Bob Okafor",
                                                    email: "bob.okafor@abc-energy.example", at: now + 10)).status == 200)
            #expect(try h.deliver(Self.notification(topic: "admin.removed_from_workspace", admin: bob, name: "Bob Okafor",
                                                    email: "bob.okafor@abc-energy.example", at: now)).status == 200)
            #expect(try h.eventually { try h.directory().events().allSatisfy { $0.status != .pending } })
            #expect(try h.user(.intercom, bob)?.user.status == .pending, "the older removal is stale")
        }

        @Test func aPersonInBothDesksIsKeptUntilTheSecondDeskDropsThem() throws {
            let h = try Harness(withZendesk: true)
            #expect(try h.waitForImport(.intercom) && h.waitForImport(.zendesk))
            #expect(try h.eventually { try h.user(.zendesk, "6596848315901")?.links.count == 2 })
            #expect(try h.subscribe().status == 200)
            try h.sim.control("/_sim/admins/\(ann)/remove")
            #expect(try h.eventually { try h.directory().events().contains { $0.type == "admin.removed_from_workspace" && $0.status == .applied } })
            #expect(try h.user(.intercom, ann)?.user.status == .pending, "Zendesk still has her")
        }
    }
}
