import JSON
import SyncRules

/// A Zendesk webhook event, as much of it as usersync reads
/// (envelope and `detail` shapes: shared/reference/zendesk-api.md §1.1–1.4).
public struct ZendeskEvent: Sendable, Equatable {
    /// A `current`/`previous` value of the `event` object.
    public enum Value: Sendable, Equatable {
        case bool(Bool)
        case text(String)
        case null
        case other
    }

    public struct Detail: Sendable, Equatable {
        public var id: String?
        public var email: String?
        public var role: String?
        public var externalID: String?
        public var updatedAt: Timestamp?
    }

    public var id: String
    /// The full type, e.g. `zen:event-type:user.name_changed`.
    public var type: String
    public var time: Timestamp?
    public var subject: String?
    public var detail: Detail
    public var current: Value
    public var previous: Value

    /// True when `current` names a role other than end-user (a role change to staff).
    public var currentRoleIsStaff: Bool {
        if case .text(let r) = current { return !r.isEmpty && r != "end-user" }
        return false
    }

    /// `user.name_changed` for `zen:event-type:user.name_changed`; nil for other domains.
    public var userEventName: String? {
        guard let name = Self.text(type, after: Self.typePrefix), name.utf8.starts(with: "user.".utf8) else { return nil }
        return name
    }

    static let typePrefix = "zen:event-type:"

    /// What follows an ASCII `prefix` in `s`, compared byte for byte: `hasPrefix` and
    /// `dropFirst(n)` walk grapheme clusters, which cost every stored event about 1,500
    /// instructions in the applier (callgrind of `serve` under wrk).
    static func text(_ s: String, after prefix: String) -> String? {
        guard s.utf8.starts(with: prefix.utf8) else { return nil }
        return String(Substring(s.utf8.dropFirst(prefix.utf8.count)))
    }

    /// The user the event is about: `detail.id`, else the id in `subject` (`zen:user:ID`).
    public var userID: String? {
        if let id = detail.id, !id.isEmpty, id != "0" { return id }
        if let s = subject, let id = Self.text(s, after: "zen:user:") { return id }
        return nil
    }

    /// Why a body is not a Zendesk event (400).
    public struct Malformed: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Decodes a raw webhook body. Ids may be strings or numbers; unknown fields are skipped.
    public static func decode(_ body: [UInt8]) throws -> ZendeskEvent { try read(body, whole: true) }

    /// What the intake stores (id, type, the user it is about), from the same read as
    /// `decode` but for the fields it leaves out, which are checked, not made into values
    /// (an event's `current` may be a long name: copying it cost every delivery): a body
    /// is refused here exactly when `decode` would refuse it, so a stored event always
    /// decodes for the applier.
    public static func envelope(_ body: [UInt8]) throws -> ZendeskEvent { try read(body, whole: false) }

    private static func read(_ body: [UInt8], whole: Bool) throws -> ZendeskEvent {
        do {
            return try JSONReader.read(body) { r in
                guard try r.peek() == .object else { throw Malformed(description: "body is not a JSON object") }
                var id: String?
                var type: String?
                var time: Timestamp?
                var subject: String?
                var detail = Detail()
                var current = Value.null
                var previous = Value.null
                try r.readObject { r, key in
                    if key == "id" { id = try r.readScalarText() }
                    else if key == "type" { type = try r.readOptionalString() }
                    else if key == "time" {
                        if !whole { return try skipOptionalString(&r) }
                        time = try r.readOptionalString().flatMap { Timestamp(iso8601: $0) }
                    } else if key == "subject" { subject = try r.readOptionalString() }
                    else if key == "detail" {
                        guard try r.peek() == .object else { return try r.skipValue() }
                        try r.readObject { r, key in
                            if key == "id" { detail.id = try r.readScalarText() }
                            else if !whole {
                                if key == "updated_at" { try skipOptionalString(&r) }
                                else if key == "email" || key == "role" || key == "external_id" { try skipScalar(&r) }
                            }
                            else if key == "email" { detail.email = try r.readScalarText() }
                            else if key == "role" { detail.role = try r.readScalarText() }
                            else if key == "external_id" { detail.externalID = try r.readScalarText() }
                            else if key == "updated_at" { detail.updatedAt = try r.readOptionalString().flatMap { Timestamp(iso8601: $0) } }
                        }
                    } else if key == "event" {
                        guard try r.peek() == .object else { return try r.skipValue() }
                        try r.readObject { r, key in
                            guard key == "current" || key == "previous" else { return }
                            if !whole {
                                if try r.peek() == .string { try r.skipStringAsRead() } else { try r.skipValue() }
                            } else if key == "current" { current = try value(&r) } else { previous = try value(&r) }
                        }
                    }
                }
                try r.expectEnd()
                guard let id, !id.isEmpty else { throw Malformed(description: "event has no id") }
                guard let type, !type.isEmpty else { throw Malformed(description: "event has no type") }
                if let e = detail.email, e.isEmpty { detail.email = nil }
                if let x = detail.externalID, x.isEmpty { detail.externalID = nil }
                let event = ZendeskEvent(id: id, type: type, time: time, subject: subject, detail: detail, current: current,
                                         previous: previous)
                // Zendesk user ids are whole numbers: a handled event about anything else
                // could only fail every fetch until its retries ran out. (Types usersync
                // does not handle are stored as ignored, whatever they name.)
                if ZendeskEventInterpreter.isHandled(event.type) {
                    guard let uid = event.userID else { throw Malformed(description: "the event names no user") }
                    guard uid.isASCIIDigits, uid.utf8.count <= 19 else {
                        throw Malformed(description: "user id '\(uid)' is not a Zendesk user id")
                    }
                }
                return event
            }
        } catch let e as JSONReader.SyntaxError {
            throw Malformed(description: e.description)
        }
    }

    /// Accepts what `readOptionalString` accepts, refusing the rest with its error.
    private static func skipOptionalString(_ r: inout JSONReader) throws {
        switch try r.peek() {
        case .null: try r.skipValue()
        case .string: try r.skipStringAsRead()
        default: _ = try r.readOptionalString()
        }
    }

    /// Accepts what `readScalarText` accepts, refusing the rest with its error.
    private static func skipScalar(_ r: inout JSONReader) throws {
        switch try r.peek() {
        case .string: try r.skipStringAsRead()
        case .object, .array: _ = try r.readScalarText()
        default: try r.skipValue()
        }
    }

    private static func value(_ r: inout JSONReader) throws -> Value {
        switch try r.peek() {
        case .bool: return .bool(try r.readBool())
        case .string, .number: return .text(try r.readScalarText() ?? "")
        case .null: _ = try r.readNull(); return .null
        default: try r.skipValue(); return .other
        }
    }
}
