import Directory
import Foundation
import SyncRules
import TestSupport
import Testing

extension ServeTests {
    /// A secret replaced by `install-webhook` verifies through the overlap window, then not.
    @Suite struct SecretRotationTests {
        let h: ServeHarness
        init() throws {
            h = try ServeHarness(top: #""webhook_secret_overlap": "2s","#)
            try h.waitForImport()
        }

        func event() -> String { ServeHarness.event(type: "user.name_changed", user: "6596848315901", current: #""Ann Lee""#) }

        /// Runs `install-webhook --rotate` and returns the secret it stored.
        func install() throws -> String {
            let url = h.baseURL + "/webhooks/zendesk/abc-energy"
            #expect(try h.cli(["zendesk", "install-webhook", "--tenant", "abc-energy", "--url", url, "--rotate"]).status == 0)
            return try #require(try h.directory().sourceState(.zendesk).webhookSecret)
        }

        @Test func aReplacedSecretStopsVerifyingAfterTheOverlap() throws {
            let first = try install()
            #expect(try h.deliver(event(), secret: first).status == 200, "a newly stored secret is picked up")
            let second = try install()
            #expect(second != first)
            #expect(try h.eventually { try h.deliver(event(), secret: second).status == 200 })
            #expect(try h.deliver(event(), secret: first).status == 200, "the old one still verifies during the overlap")
            #expect(try h.eventually(6) { try h.deliver(event(), secret: first).status == 401 }, "and not after it")
            #expect(try h.deliver(event(), secret: second).status == 200)
            #expect(try h.deliver(event(), secret: ServeHarness.secret).status == 200, "the configured secret is untouched")
        }

        /// The same when only the replaced secret is ever presented (a leaked one, say):
        /// the receiver learns of the rotation without waiting for the new secret.
        @Test func aReplacedSecretStopsEvenWhenOnlyItIsUsed() throws {
            let first = try install()
            #expect(try h.deliver(event(), secret: first).status == 200)
            _ = try install()
            #expect(try h.eventually(10) { try h.deliver(event(), secret: first).status == 401 })
        }
    }
}
