import Desks
import SyncRules
import Testing

/// Intercom notification envelopes → events → observations, on bytes only.
@Suite struct IntercomEventTests {
    static func body(topic: String, id: String = #""notif_1""#, item: String = #"{"type":"admin","id":42,"name":"A. Teammate","email":"a@example.com","has_inbox_seat":true,"away_mode_enabled":false,"avatar":{"type":"avatar","image_url":null}}"#,
                     created: String = "1760000000") -> [UInt8] {
        Array("""
        {"type":"notification_event","id":\(id),"self":null,"topic":"\(topic)","app_id":"abcd1234","created_at":\(created),\
        "first_sent_at":1760000001,"delivery_attempts":1,"links":{},"data":{"type":"notification_event_data","item":\(item)}}
        """.utf8)
    }

    @Test func decodesTheEnvelopeAndTheWholeAdmin() throws {
        let e = try IntercomEvent.decode(Self.body(topic: "admin.added_to_workspace"))
        #expect(e.id == "notif_1" && e.topic == "admin.added_to_workspace" && e.appID == "abcd1234")
        #expect(e.createdAt == Timestamp(seconds: 1_760_000_000))
        var expected = SourceUser(id: "42", name: "A. Teammate", email: "a@example.com", role: "admin",
                                  updatedAt: Timestamp(seconds: 1_760_000_000))
        expected.hasInboxSeat = true
        #expect(e.admin == expected)
        #expect(e.meaning == .observe(.seen(expected)))
        let stringID = try IntercomEvent.decode(Self.body(topic: "admin.added_to_workspace", item: #"{"type":"admin","id":"42","name":"A","email":"a@example.com"}"#))
        #expect(stringID.admin?.id == "42" && stringID.admin?.hasInboxSeat == nil)
    }

    @Test func removalAwayModePingAndOtherTopics() throws {
        let removed = try IntercomEvent.decode(Self.body(topic: "admin.removed_from_workspace"))
        #expect(removed.meaning == .observe(.removed(sourceUserID: "42", at: Timestamp(seconds: 1_760_000_000),
                                                     reason: "removed from workspace in source")))
        let away = try IntercomEvent.decode(Self.body(topic: "admin.away_mode_updated",
                                                      item: #"{"type":"admin","id":42,"name":"A. Teammate","email":"a@example.com","away_mode_enabled":true}"#))
        guard case .observe(.seen(let u)) = away.meaning else { Issue.record("away mode refreshes the snapshot"); return }
        #expect(u.active && !u.suspended, "away is not a deactivation")
        let ping = try IntercomEvent.decode(Self.body(topic: "ping", id: "null", item: #"{"type":"ping","message":"hi"}"#))
        #expect(ping.id == nil && ping.admin == nil && ping.meaning == .ignored("ping"))
        let login = try IntercomEvent.decode(Self.body(topic: "admin.logged_in"))
        #expect(login.meaning == .ignored("topic admin.logged_in is not handled"))
        let other = try IntercomEvent.decode(Self.body(topic: "conversation.user.created", id: "null", item: #"{"type":"conversation","id":"1"}"#))
        #expect(other.meaning == .ignored("topic conversation.user.created is not handled"))
    }

    @Test func olderNotificationsCarryOlderTimestamps() throws {
        let early = try IntercomEvent.decode(Self.body(topic: "admin.removed_from_workspace", created: "100"))
        let late = try IntercomEvent.decode(Self.body(topic: "admin.added_to_workspace", created: "200"))
        #expect(try #require(early.createdAt) < #require(late.admin?.updatedAt))
    }

    @Test func workspaceCheck() throws {
        let e = try IntercomEvent.decode(Self.body(topic: "ping", id: "null", item: "{}"))
        #expect(e.isFor(appID: nil) && e.isFor(appID: "abcd1234") && !e.isFor(appID: "other"))
    }

    @Test func malformedBodiesAreRefused() {
        let bad: [[UInt8]] = [
            Array("[]".utf8), Array("{".utf8), Array(#"{"type":"event","topic":"ping"}"#.utf8),
            Array(#"{"type":"notification_event"}"#.utf8),
            Self.body(topic: "admin.removed_from_workspace", id: "null"),
            Self.body(topic: "admin.added_to_workspace", item: #"{"type":"team","id":1}"#),
            Self.body(topic: "admin.added_to_workspace", item: #"{"type":"admin","name":"no id"}"#),
            Self.body(topic: "admin.added_to_workspace", item: #"{"type":"admin","id":{"x":1}}"#),
        ]
        for b in bad {
            #expect(throws: IntercomEvent.Malformed.self, "\(String(decoding: b, as: UTF8.self))") { try IntercomEvent.decode(b) }
        }
    }
}
