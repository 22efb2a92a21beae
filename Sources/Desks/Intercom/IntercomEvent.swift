import JSON
import SyncRules

/// One Intercom webhook notification, as much as usersync reads: the envelope
/// `{"type": "notification_event", "id", "topic", "app_id", "created_at", "data": {"item"}}`
/// (https://developers.intercom.com/docs/references/webhooks/webhook-models; reference §2.3).
/// Admin topics carry the whole admin, so no fetch is ever needed.
public struct IntercomEvent: Sendable, Equatable {
    /// `notif_…`; nil for a `ping` (its envelope id is null), which is verified and dropped.
    public var id: String?
    public var topic: String
    /// The workspace (`app.id_code`) the notification is about.
    public var appID: String?
    /// When Intercom created the notification; it orders deliveries (no signed timestamp exists).
    public var createdAt: Timestamp?
    /// `data.item` when it is an admin, with `updatedAt` = `createdAt`.
    public var admin: SourceUser?

    public init(id: String?, topic: String, appID: String?, createdAt: Timestamp?, admin: SourceUser?) {
        self.id = id
        self.topic = topic
        self.appID = appID
        self.createdAt = createdAt
        self.admin = admin
    }

    /// The admin topics usersync acts on (reference §2.2; there is no `admin.updated`).
    public enum Topic {
        public static let added = "admin.added_to_workspace"
        public static let removed = "admin.removed_from_workspace"
        public static let awayModeUpdated = "admin.away_mode_updated"
        public static let ping = "ping"
        public static let handled: Set<String> = [added, removed, awayModeUpdated]
    }

    /// The reason a removal notification gives the local user.
    public static let removedReason = "removed from workspace in source"

    /// Why a body is not an Intercom notification (400).
    public struct Malformed: Error, CustomStringConvertible, Sendable, Equatable {
        public var description: String
    }

    /// What a notification means for the directory.
    public enum Meaning: Sendable, Equatable {
        case observe(Observation)
        /// Acknowledged and recorded as ignored, with this note.
        case ignored(String)
    }

    /// Added → the admin is in scope (create pending, link or restore); removed → gone with
    /// `removedReason`; away-mode → a fresh snapshot (name and email; away is not a
    /// deactivation, and the seat rule still applies); `ping` and anything else → ignored.
    public var meaning: Meaning {
        guard Topic.handled.contains(topic), let admin else {
            return .ignored(topic == Topic.ping ? "ping" : "topic \(topic) is not handled")
        }
        if topic == Topic.removed {
            return .observe(.removed(sourceUserID: admin.id, at: createdAt, reason: Self.removedReason))
        }
        return .observe(.seen(admin))
    }

    /// Whether the notification is for `appID` (config `app_id`; nil accepts any workspace).
    public func isFor(appID expected: String?) -> Bool {
        guard let expected else { return true }
        return appID == expected
    }

    /// Decodes a raw notification body; unknown fields are skipped. A handled topic must
    /// carry an id and an admin item; other topics need neither.
    public static func decode(_ body: [UInt8]) throws -> IntercomEvent {
        do {
            return try JSONReader.read(body) { r in
                guard try r.peek() == .object else { throw Malformed(description: "body is not a JSON object") }
                var type: String?
                var id: String?
                var topic: String?
                var appID: String?
                var createdAt: Int64?
                var admin: SourceUser?
                try r.readObject { r, key in
                    if key == "type" { type = try r.readOptionalString() }
                    else if key == "id" { id = try r.readScalarText() }
                    else if key == "topic" { topic = try r.readOptionalString() }
                    else if key == "app_id" { appID = try r.readScalarText() }
                    else if key == "created_at" { createdAt = try r.readScalarText().flatMap { Int64($0) } }
                    else if key == "data" {
                        guard try r.peek() == .object else { return try r.skipValue() }
                        try r.readObject { r, key in
                            guard key == "item", try r.peek() == .object else { return try r.skipValue() }
                            admin = try IntercomDecoding.admin(&r)
                        }
                    }
                }
                try r.expectEnd()
                guard type == "notification_event" else { throw Malformed(description: "type is not notification_event") }
                guard let topic, !topic.isEmpty else { throw Malformed(description: "notification has no topic") }
                if let i = id, i.isEmpty { id = nil }
                let at = createdAt.map { Timestamp(seconds: $0) }
                admin?.updatedAt = at
                if Topic.handled.contains(topic) {
                    guard id != nil else { throw Malformed(description: "\(topic) notification has no id") }
                    guard admin != nil else { throw Malformed(description: "\(topic) notification has no admin item") }
                }
                return IntercomEvent(id: id, topic: topic, appID: appID, createdAt: at, admin: admin)
            }
        } catch let e as JSONReader.SyntaxError {
            throw Malformed(description: e.description)
        } catch let e as SourceError {
            throw Malformed(description: e.description)
        }
    }
}
