import Testing
import Desks
import Webhooks

/// A body nested deeper than the JSON reader's limit is malformed (400), not a crash.
@Suite struct NestingTests {
    @Test func deeplyNestedEventBodiesAreMalformed() {
        for depth in [65, 100_000] {
            let inner = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let body = Array(#"{"id":"e1","type":"zen:event-type:user.name_changed","event":{"current":\#(inner)}}"#.utf8)
            #expect(throws: ZendeskEvent.Malformed.self) { try ZendeskEvent.decode(body) }
        }
        let shallow = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        let ok = Array((#"{"id":"e1","type":"zen:event-type:user.name_changed","subject":"zen:user:1","#
            + #""event":{"current":\#(shallow)}}"#).utf8)
        #expect(throws: Never.self) { try ZendeskEvent.decode(ok) }
    }
}
