import Directory
import Foundation
import HTTPClient
import TestSupport
import Testing

// Nested in ServeTests (serialized): these tests block their thread on real sockets and
// processes, so they take turns with the other serve tests rather than crowd the pool.
extension ServeTests {
    /// SPEC §4 "Isolation of work": a tenant database locked by another process never stalls
    /// the event loop; that tenant's deliveries get 503 + Retry-After, the others keep going.
    @Suite struct IsolationTests {
        /// The standard harness restarted with `other-co`'s Zendesk enabled and one event loop,
        /// so both tenants' deliveries and `/healthz` share the loop a locked store could stall.
        static func harness() throws -> ServeHarness {
            let h = try ServeHarness()
            h.serve.stop()
            var text = try String(contentsOfFile: h.config, encoding: .utf8)
            text = text.replacingOccurrences(of: #""enabled": false, "subdomain": "other-co""#, with: #""enabled": true, "subdomain": "other-co""#)
            text = text.replacingOccurrences(of: #""listen": "127.0.0.1:0","#, with: #""listen": "127.0.0.1:0", "http": {"loops": 1},"#)
            try text.write(toFile: h.config, atomically: true, encoding: .utf8)
            try h.start()
            return h
        }

        @Test func aLockedTenantGets503WhileOthersAndHealthAnswer() throws {
            let h = try Self.harness()
            try h.waitForImport()
            #expect(try h.eventually { try h.directory("other-co").runs().contains { $0.outcome == .completed } })
            let lock = try SQLiteLockHolder(try h.directory().path)
            defer { lock.release() }

            let first = ServeHarness.event(type: "user.name_changed", user: "6596848315901", current: #""Ann L""#)
            let started = Date()
            let answered = DispatchSemaphore(value: 0)
            final class Box: @unchecked Sendable { var response: ClientResponse?; var at = Date.distantFuture }
            let locked = Box()
            Thread.detachNewThread {
                // Its own client: the harness's one handle would serialise the two requests.
                let s = ServeHarness.signed(first)
                locked.response = try? HTTPClient().perform(ClientRequest(method: "POST", url: h.baseURL + "/webhooks/zendesk/abc-energy",
                                                                          headers: s.headers, body: s.body))
                locked.at = Date()
                answered.signal()
            }
            let other = try h.deliver(ServeHarness.event(type: "user.name_changed", user: "6596848315901", current: #""X""#),
                                      tenant: "other-co", secret: ServeHarness.otherSecret)
            let otherAt = Date()
            #expect(other.status == 200, "another tenant is stored while abc-energy is locked")
            #expect(try h.http.perform(ClientRequest(url: h.baseURL + "/healthz")).status == 200)
            answered.wait()
            #expect(otherAt < locked.at, "the locked tenant's delivery did not hold the loop")
            #expect(locked.response?.status == 503)
            let retry = locked.response?.header("retry-after").flatMap(Int.init)
            #expect(retry != nil && retry! > 0 && retry! < 60)
            #expect(locked.at.timeIntervalSince(started) < 8, "answered well before SQLite's 10 s busy timeout")
            #expect(try h.directory().events().isEmpty, "nothing was acknowledged, nothing is stored")

            lock.release()
            let after = try h.deliver(first)
            #expect(after.status == 200)
            #expect(String(decoding: after.body, as: UTF8.self).contains("stored"))
            #expect(try h.directory().events().count == 1, "a 200 means the event is committed")
        }
    }
}
