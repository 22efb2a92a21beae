import Foundation
import SyncRules
import Testing
import Config
import Desks
import Signing
import Webhooks

/// Zendesk signatures: the reference vectors, and every way a delivery can be refused.
@Suite struct SignatureTests {
    // shared/reference/zendesk-signature-vectors.json, computed by an independent implementation.
    static let vectors: [(secret: String, timestamp: String, body: String, signature: String)] = [
        ("whsec-example-1", "2099-07-04T05:33:18Z",
         #"{"type":"zen:event-type:user.active_changed","account_id":12514403,"id":"2b24ef10-19d4-4740-93cf-8f98ec4776c0","time":"2099-07-04T05:33:18Z","zendesk_event_version":"2022-06-20","subject":"zen:user:6596848315901","detail":{"created_at":"2099-07-04T05:27:58Z","email":"agent@example.com","external_id":"","default_group_id":"0","id":"6596848315901","organization_id":"0","role":"end-user","updated_at":"2099-07-04T05:33:18Z"},"event":{"current":false,"previous":true}}"#,
         "SonyFsFd0598S6NKRSzX4oM0b5zoVf0BdoqCwMienPs="),
        ("dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==", "2026-11-26T10:00:00Z",
         #"{"type":"zen:event-type:user.name_changed","id":"e1","event":{"current":"Zoë Ångström-Núñez","previous":"Zoe"}}"#,
         "69Msn6PH4r1HECHFM0tQ2Aqj24HvyCX+QG4zDg+1EBA="),
        ("s", "2026-11-26T10:00:00.123456789Z", "{}", "10Qp3mRRoUoIHuUlFCdlU7xG4kcWis7aGS8cEiRzGdE="),
    ]

    @Test func matchesTheReferenceVectors() {
        for v in Self.vectors {
            #expect(ZendeskSignature.sign(secret: v.secret, timestamp: v.timestamp, body: Array(v.body.utf8)) == v.signature)
            #expect(ZendeskSignature.isValid(signature: v.signature, secret: v.secret, timestamp: v.timestamp, body: Array(v.body.utf8)))
        }
    }

    @Test func theOldBodyThenTimestampOrderIsRejected() {
        let body = Array(#"{"say": "hello"}"#.utf8)
        let secret = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
        #expect(ZendeskSignature.isValid(signature: "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=", secret: secret, timestamp: "2021-07-25T10:00:00Z", body: body))
        #expect(!ZendeskSignature.isValid(signature: "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=", secret: secret, timestamp: "2021-07-25T10:00:00Z", body: body))
    }

    @Test func intakeRefusesEveryBadSignature() {
        let format = ZendeskDesk().webhooks
        func verifyZendesk(signature: String?, timestamp: String?, body: [UInt8], secrets: [String]) -> String? {
            format.verify(header: { name in
                name == "X-Zendesk-Webhook-Signature" ? signature : name == "X-Zendesk-Webhook-Signature-Timestamp" ? timestamp : nil
            }, body: body, secrets: secrets, tolerance: 3600, now: Date().timeIntervalSince1970)
        }
        let now = Date()
        let ts = Timestamp(seconds: Int64(now.timeIntervalSince1970)).iso8601
        let body = Array(#"{"id":"e1","type":"zen:event-type:user.name_changed"}"#.utf8)
        let good = ZendeskSignature.sign(secret: "mine", timestamp: ts, body: body)
        #expect(verifyZendesk(signature: good, timestamp: ts, body: body, secrets: ["mine"]) == nil)
        #expect(verifyZendesk(signature: good, timestamp: ts, body: body, secrets: ["old", "mine"]) == nil)
        #expect(verifyZendesk(signature: good, timestamp: ts, body: body, secrets: ["another tenant's"]) == "signature does not match")
        #expect(verifyZendesk(signature: good, timestamp: ts, body: body + [0x20], secrets: ["mine"]) == "signature does not match")
        #expect(verifyZendesk(signature: nil, timestamp: ts, body: body, secrets: ["mine"]) == "missing signature headers")
        #expect(verifyZendesk(signature: good, timestamp: nil, body: body, secrets: ["mine"]) == "missing signature headers")
        #expect(verifyZendesk(signature: "not base64!", timestamp: ts, body: body, secrets: ["mine"]) == "signature does not match")
        #expect(verifyZendesk(signature: good, timestamp: "1700000000", body: body, secrets: ["mine"]) == "signature timestamp is not ISO-8601")
        let stale = Timestamp(seconds: Int64(now.timeIntervalSince1970) - 7200).iso8601
        let staleSig = ZendeskSignature.sign(secret: "mine", timestamp: stale, body: body)
        #expect(verifyZendesk(signature: staleSig, timestamp: stale, body: body, secrets: ["mine"]) == "signature timestamp outside tolerance")
        #expect(verifyZendesk(signature: good, timestamp: ts, body: body, secrets: []) == "no webhook secret is configured for this source")
        // A retry within the tolerance (Zendesk may reuse the timestamp) is still accepted.
        let retry = Timestamp(seconds: Int64(now.timeIntervalSince1970) - 1800).iso8601
        #expect(verifyZendesk(signature: ZendeskSignature.sign(secret: "mine", timestamp: retry, body: body), timestamp: retry, body: body, secrets: ["mine"]) == nil)
    }
}
