import Config
import Foundation
import SyncRules
import Testing

/// The Intercom section's `app_id` and `inbox_seat_required`.
@Suite struct IntercomConfigTests {
    func intercom(_ extra: [String: Any]) throws -> IntercomConfig? {
        var section: [String: Any] = ["enabled": false, "auth": ["type": "access_token", "token_env": "IC"]]
        section.merge(extra) { _, new in new }
        let root: [String: Any] = ["tenants": [["id": "abc-energy", "features": ["integrations"], "licence_limit": 5, "intercom": section]]]
        return try UsersyncConfig.parse(JSONSerialization.data(withJSONObject: root)).tenants[0].intercom
    }

    @Test func workspaceAndSeatRuleAreRead() throws {
        let plain = try #require(try intercom([:]))
        #expect(plain.appID == nil && !plain.inboxSeatRequired)
        #expect(plain.settings.scope == .teammates(inboxSeatRequired: false))
        let set = try #require(try intercom(["app_id": "abcenergy01", "inbox_seat_required": true]))
        #expect(set.appID == "abcenergy01" && set.inboxSeatRequired)
        #expect(set.settings.scope.inboxSeatRequired)
        #expect(try intercom(["app_id": NSNull()])?.appID == nil)
    }
}
