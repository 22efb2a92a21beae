import Foundation
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
        let spaced = try ZendeskEvent.decode(Array(#"{"id": "e", "type": "t", "detail": "x", "event": 1, "subject": "zen:user:5"}"#.utf8))
        #expect(spaced.userID == "5", "a detail or event that is not an object is skipped, space or not")
    }

    /// The intake's envelope refuses a body exactly when the applier's decode would: every
    /// field given every kind of value, and every prefix of a valid body.
    @Test func theEnvelopeRefusesExactlyWhatDecodeRefuses() throws {
        let values = ["null", "true", "false", "7", "-1.5e3", #""""#, #""s""#, #""2026-11-26T10:00:05Z""#, "{}", #"{"a":[1,{}]}"#,
                      "[]", "[1,2]", #""\u00e9\n""#, #""\ud41d\ude00""#, #""\ud83d\ude00""#, #""\ud83d""#, "01", "tru",
                      #""unterminated"#]
        let fields = ["id", "type", "time", "subject", "detail", "event"]
        let detailFields = ["id", "email", "role", "external_id", "updated_at", "other"]
        let eventFields = ["current", "previous", "other"]
        let base: [String: String] = ["id": #""ev-1""#, "type": #""zen:event-type:user.name_changed""#,
                                      "time": #""2026-11-26T10:00:05Z""#, "subject": #""zen:user:42""#]
        func object(_ fields: [String: String]) -> String {
            "{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        }
        func body(_ top: [String: String], detail: [String: String] = ["id": #""42""#],
                  event: [String: String] = ["current": #""A""#]) -> String {
            var all = top
            if top["detail"] == nil { all["detail"] = object(detail) }
            if top["event"] == nil { all["event"] = object(event) }
            return object(all)
        }
        var bodies: [String] = []
        for v in values {
            for f in fields { var top = base; top[f] = v; bodies.append(body(top)) }
            for f in detailFields {
                var detail = ["id": #""42""#]
                detail[f] = v
                bodies.append(body(base, detail: detail))
            }
            for f in eventFields { bodies.append(body(base, event: [f: v])) }
        }
        let valid = body(base)
        for n in 0...valid.utf8.count { bodies.append(String(decoding: Array(valid.utf8.prefix(n)), as: UTF8.self)) }
        // Space after every colon: a value that is only peeked at must still be read.
        bodies += bodies.map { $0.replacingOccurrences(of: "\":", with: "\": ") }
        for text in bodies {
            let bytes = Array(text.utf8)
            let full = try? ZendeskEvent.decode(bytes)
            let envelope = try? ZendeskEvent.envelope(bytes)
            #expect((full == nil) == (envelope == nil), "\(text)")
            if let full, let envelope {
                #expect(full.id == envelope.id && full.type == envelope.type && full.userID == envelope.userID, "\(text)")
            }
        }
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

    /// Names and ids are cut after their ASCII prefixes byte for byte; what follows may be
    /// any text, and a prefix that is only similar (case, a combining mark) is no prefix.
    @Test func typeAndSubjectPrefixesAreCutExactly() throws {
        func decode(type: String, subject: String) throws -> ZendeskEvent {
            try ZendeskEvent.decode(Array(#"{"id":"e","type":"\#(type)","subject":"\#(subject)","detail":{}}"#.utf8))
        }
        let bare = try decode(type: "zen:event-type:user.é_changed", subject: "zen:user:7é")
        #expect(bare.userEventName == "user.é_changed" && bare.userID == "7é")
        let other = try decode(type: "Zen:event-type:user.created", subject: "zen:users:7")
        #expect(other.userEventName == nil && other.userID == nil)
        let marked = try decode(type: "zen:event-type\u{301}:user.created", subject: "")
        #expect(marked.userEventName == nil)
        #expect(!ZendeskEventInterpreter.isHandled("zen:event-type:ticket.created"))
        #expect(!ZendeskEventInterpreter.isHandled("zen:event-type:user."))
    }
}
