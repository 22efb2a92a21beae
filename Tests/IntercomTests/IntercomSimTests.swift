import Desks
import Foundation
import HTTPServer
import Signing
import SyncRules
import TestSupport
import Testing

/// intercom-sim's notification pushes, received by a real HTTPServer on loopback: the HEAD
/// check, signatures, ping, duplicates, held and reordered deliveries.
@Suite struct IntercomSimTests {
    /// A receiver that records every delivery; HEAD answers `headStatus`.
    final class Receiver: @unchecked Sendable {
        struct Delivery { var signature: String?; var body: [UInt8] }
        let deliveries = Recorder<Delivery>()
        let heads = Recorder<Int>()
        let server: HTTPServer

        init(headStatus: Int = 200) throws {
            var router = Router()
            let deliveries = self.deliveries
            let heads = self.heads
            router.on("HEAD", "/webhooks/intercom/abc") { _ in
                heads.append(1)
                return HTTPResponse(status: headStatus)
            }
            router.on("POST", "/webhooks/intercom/abc") { req in
                deliveries.append(Delivery(signature: req.headers["X-Hub-Signature"], body: req.body))
                return .json(200, #"{"status":"stored"}"#)
            }
            var config = ServerConfiguration()
            config.port = 0
            config.loops = 1
            server = HTTPServer(configuration: config, router: router)
            try server.start()
        }

        var url: String { "http://127.0.0.1:\(server.port)/webhooks/intercom/abc" }

        /// Waits (bounded) until `count` deliveries arrived; returns them decoded.
        func events(_ count: Int) throws -> [IntercomEvent] {
            let deadline = Date().addingTimeInterval(10)
            while deliveries.count < count && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            return try deliveries.all.map { d in
                #expect(IntercomSignature.isValid(header: d.signature, secret: IntercomSimulator.clientSecret, body: d.body))
                return try IntercomEvent.decode(d.body)
            }
        }

        deinit { server.stop() }
    }

    @Test func subscribesOnlyAfterHEADAnswers200() throws {
        let sim = try IntercomSimulator()
        let refusing = try Receiver(headStatus: 404)
        #expect(try sim.control("/_sim/webhooks", #"{"url": "\#(refusing.url)"}"#).status == 502)
        #expect(refusing.heads.count == 1)
        try sim.control("/_sim/admins/7100001/remove")
        try sim.control("/_sim/flush")
        #expect(refusing.deliveries.count == 0)

        let receiver = try Receiver()
        #expect(try sim.control("/_sim/webhooks", #"{"url": "\#(receiver.url)"}"#).status == 200)
        #expect(receiver.heads.count == 1)
    }

    @Test func pushesSignedNotificationsForTheThreeTopicsAndPing() throws {
        let sim = try IntercomSimulator()
        let receiver = try Receiver()
        try sim.control("/_sim/webhooks", #"{"url": "\#(receiver.url)"}"#)
        try sim.control("/_sim/admins", #"{"id": "7100099", "name": "New Person", "email": "new@abc-energy.example"}"#)
        try sim.control("/_sim/admins/7100099/away", #"{"away": true}"#)
        try sim.control("/_sim/admins/7100099/remove")
        try sim.control("/_sim/ping")
        let events = try receiver.events(4)
        #expect(events.map(\.topic) == ["admin.added_to_workspace", "admin.away_mode_updated", "admin.removed_from_workspace", "ping"])
        #expect(events.allSatisfy { $0.appID == "abcenergy01" })
        #expect(events[0].admin?.id == "7100099" && events[0].admin?.name == "New Person")
        #expect(events[2].meaning == .observe(.removed(sourceUserID: "7100099", at: events[2].createdAt,
                                                       reason: "removed from workspace in source")))
        #expect(events[3].id == nil)
        let stamps = events.compactMap(\.createdAt)
        #expect(stamps == stamps.sorted() && Set(stamps).count == 4, "created_at strictly increases")
        // A rename has no topic in Intercom: it pushes nothing.
        try sim.control("/_sim/admins/7100001/update", #"{"name": "Ann Lee-Smith"}"#)
        try sim.control("/_sim/flush")
        #expect(receiver.deliveries.count == 4)
    }

    @Test func duplicatesAndHeldDeliveriesReleasedInReverse() throws {
        let sim = try IntercomSimulator()
        let receiver = try Receiver()
        try sim.control("/_sim/webhooks", #"{"url": "\#(receiver.url)"}"#)
        try sim.control("/_sim/faults", #"{"duplicate_next": 1}"#)
        try sim.control("/_sim/admins/7100002/away")
        let twice = try receiver.events(2)
        #expect(twice.count == 2 && twice[0].id == twice[1].id && twice[0].id != nil)

        try sim.control("/_sim/deliveries/hold")
        try sim.control("/_sim/admins/7100004/remove")
        try sim.control("/_sim/admins", #"{"id": "7100004", "name": "Mara Costa", "email": "mara.costa@abc-energy.example"}"#)
        try sim.control("/_sim/flush")
        #expect(receiver.deliveries.count == 2, "held")
        #expect(try sim.control("/_sim/deliveries/release", #"{"order": "reverse"}"#).status == 200)
        let all = try receiver.events(4)
        #expect(all[2].topic == "admin.added_to_workspace" && all[3].topic == "admin.removed_from_workspace")
        #expect(try #require(all[2].createdAt) > #require(all[3].createdAt), "the later change arrives first")
    }
}
