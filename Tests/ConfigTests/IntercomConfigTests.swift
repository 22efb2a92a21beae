import Config
import Desks
import Foundation
import SyncRules
import Testing

/// The Intercom section's `app_id` and `inbox_seat_required`.
@Suite struct IntercomConfigTests {
    func intercom(_ extra: [String: Any]) throws -> SourceConfig? {
        var section: [String: Any] = ["enabled": false, "auth": ["type": "access_token", "token_env": "IC"]]
        section.merge(extra) { _, new in new }
        let root: [String: Any] = ["tenants": [["id": "abc-energy", "features": ["integrations"], "licence_limit": 5, "intercom": section]]]
        return try UsersyncConfig.parse(JSONSerialization.data(withJSONObject: root), desks: DeskRegistry.all).tenants[0].source(.intercom)
    }

    @Test func workspaceAndSeatRuleAreRead() throws {
        let plain = try #require(try intercom([:]))
        #expect(plain.options(as: IntercomDesk.Options.self)?.appID == nil)
        #expect(plain.options(as: IntercomDesk.Options.self)?.inboxSeatRequired == false)
        #expect(plain.settings.scope == .teammates(inboxSeatRequired: false))
        let set = try #require(try intercom(["app_id": "abcenergy01", "inbox_seat_required": true]))
        #expect(set.options(as: IntercomDesk.Options.self)?.appID == "abcenergy01")
        #expect(set.settings.scope.inboxSeatRequired)
        #expect(try intercom(["app_id": NSNull()])?.options(as: IntercomDesk.Options.self)?.appID == nil)
    }
}
