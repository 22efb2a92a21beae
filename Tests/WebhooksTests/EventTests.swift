import SyncRules
import Testing
import Desks
import Webhooks

/// Decoding Zendesk events and turning each user event type into evidence (SPEC §3 "Zendesk events").
@Suite struct EventTests {
    func event(_ type: String, current: String = "null", detail: String = #""id":"42","email":"ann@x.com","role":"agent","external_id":"","updated_at":"2026-11-26T10:00:05Z""#) throws -> ZendeskEvent {
        try ZendeskEvent.decode(Array(#"{"type":"zen:event-type:\#(type)","account_id":1,"id":"ev-1","time":"2026-11-26T10:00:05.123456789Z","zendesk_event_version":"2022-06-20","subject":"zen:user:42","detail":{\#(detail)},"event":{"current":\#(current),"previous":null}}"#.utf8))
    }

    let snapshot = LinkSnapshot(name: "Ann", email: "ann@x.com", role: "agent", customRole: "360001", customRoleName: "Team Lead",
                                active: true, suspended: false, updatedAt: Timestamp(seconds: 1000))

    func interpret(_ e: ZendeskEvent, linked: Bool = true) -> ZendeskEventInterpreter.Interpretation {
        ZendeskEventInterpreter.interpret(e, snapshot: linked ? snapshot : nil, identifier: .defaultMatching)
    }

    @Test func decodesTheEnvelopeLeniently() throws {
        let e = try event("user.name_changed", current: #""Ann Smith""#)
        #expect(e.id == "ev-1" && e.userID == "42" && e.userEventName == "user.name_changed")
        #expect(e.detail.updatedAt == Timestamp(iso8601: "2026-11-26T10:00:05Z"))
        #expect(e.detail.externalID == nil)
        let numeric = try ZendeskEvent.decode(Array(#"{"id":7,"type":"zen:event-type:user.created","subject":"zen:user:99","detail":{"id":99}}"#.utf8))
        #expect(numeric.id == "7" && numeric.userID == "99")
        #expect(throws: ZendeskEvent.Malformed.self) { try ZendeskEvent.decode(Array("[1]".utf8)) }
        #expect(throws: ZendeskEvent.Malformed.self) { try ZendeskEvent.decode(Array(#"{"type":"x"}"#.utf8)) }
        #expect(throws: ZendeskEvent.Malformed.self) { try ZendeskEvent.decode(Array("{not json".utf8)) }
    }

    @Test func thinEventsAreAppliedFromTheLinkSnapshot() throws {
        guard case .observe(.seen(let renamed)) = interpret(try event("user.name_changed", current: #""Ann Smith""#)) else {
            Issue.record("name change should apply without a fetch"); return
        }
        #expect(renamed.name == "Ann Smith" && renamed.customRoleName == "Team Lead" && renamed.updatedAt == Timestamp(iso8601: "2026-11-26T10:00:05Z"))
        guard case .observe(.seen(let suspended)) = interpret(try event("user.suspended_changed", current: "true")) else {
            Issue.record("suspension should apply without a fetch"); return
        }
        #expect(suspended.suspended)
        guard case .observe(.seen(let inactive)) = interpret(try event("user.active_changed", current: "false")) else {
            Issue.record("deactivation should apply without a fetch"); return
        }
        #expect(!inactive.active)
        guard case .observe(.seen(let downgraded)) = interpret(try event("user.role_changed", current: #""end-user""#)) else {
            Issue.record("a downgrade should apply without a fetch"); return
        }
        #expect(downgraded.role == "end-user")
        #expect(interpret(try event("user.deleted")) == .observe(.deleted(sourceUserID: "42", at: Timestamp(iso8601: "2026-11-26T10:00:05Z"))))
    }

    @Test func eventsThatLackWhatTheRulesNeedFetchTheUser() throws {
        for type in ["user.created", "user.identity_created", "user.identity_changed", "user.identity_deleted",
                     "user.external_id_changed", "user.custom_role_changed", "user.merged"] {
            #expect(interpret(try event(type)) == .fetch(userID: "42"), "\(type)")
        }
        #expect(interpret(try event("user.role_changed", current: #""admin""#)) == .fetch(userID: "42"))
        #expect(interpret(try event("user.name_changed", current: #""New""#), linked: false) == .fetch(userID: "42"))
        #expect(interpret(try event("user.suspended_changed", current: "false"), linked: false) == .fetch(userID: "42"))
        #expect(ZendeskEventInterpreter.interpret(try event("user.custom_field_changed"), snapshot: snapshot, identifier: .userField("employee_no")) == .fetch(userID: "42"))
    }

    @Test func eventsWithNothingToDoAreSettledWithoutAFetch() throws {
        if case .noEffect = interpret(try event("user.suspended_changed", current: "true"), linked: false) {} else { Issue.record("expected no effect") }
        if case .noEffect = interpret(try event("user.custom_field_changed")) {} else { Issue.record("expected no effect") }
        if case .noEffect = interpret(try event("user.tags_changed")) {} else { Issue.record("expected no effect") }
        #expect(!ZendeskEventInterpreter.isHandled("zen:event-type:ticket.created"))
        #expect(!ZendeskEventInterpreter.isHandled("zen:event-type/user.merged"))
        #expect(ZendeskEventInterpreter.isHandled("zen:event-type:user.merged"))
    }
}
