import Foundation
import HTTPClient
import TestSupport
import Testing

/// The gauges `samples/prometheus/usersync-rules.yml` alerts on: failed events, broken
/// auth, the full-run interval and the last successful run.
@Suite(.serialized) struct AlertGaugeTests {
    func metrics(_ h: ServeHarness) throws -> String {
        String(decoding: try h.http.perform(ClientRequest(url: h.baseURL + "/metrics")).body, as: UTF8.self)
    }

    @Test func alertGaugesFollowTheDirectory() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let labels = #"{tenant="abc-energy",source="zendesk"}"#
        #expect(try h.eventually { try metrics(h).contains("usersync_reconcile_last_success_timestamp_seconds\(labels)") })
        let text = try metrics(h)
        #expect(text.contains("usersync_inbox_failed_events\(labels) 0"))
        #expect(text.contains("usersync_source_auth_broken\(labels) 0"))
        #expect(text.contains("usersync_reconcile_interval_seconds\(labels) 86400"))
        #expect(!text.contains(#"usersync_reconcile_interval_seconds{tenant="other-co""#), "a disabled source has no schedule")

        try h.sim.control("/_sim/faults", #"{"unauthorized": true}"#)
        #expect(try h.api("POST", "/api/tenants/abc-energy/sources/zendesk/reconcile").status == 202)
        #expect(try h.eventually(15) { try metrics(h).contains("usersync_source_auth_broken\(labels) 1") })
    }
}
