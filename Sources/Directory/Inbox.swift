import SyncRules

/// A webhook event as stored in a tenant's inbox.
public struct InboxEvent: Sendable, Equatable {
    public var seq: Int64
    public var source: SourceKind
    public var eventID: String
    public var type: String
    public var sourceUserID: String?
    public var receivedAt: String
    public var status: String
    public var attempts: Int
    public var lastError: String?
    public var body: [UInt8]
}

extension TenantDirectory {
    /// Inbox events, newest first, optionally of one status.
    public func events(status: String? = nil, limit: Int = 100) throws -> [InboxEvent] {
        try read { db in
            let sql = "SELECT seq, source, event_id, type, source_user_id, received_at, status, attempts, last_error, body FROM inbox"
                + (status == nil ? "" : " WHERE status = ?") + " ORDER BY seq DESC LIMIT ?"
            let args: [SQLBindable?] = (status.map { [$0] } ?? []) + [limit]
            return try db.query(sql, arguments: args, map: Self.inboxEvent)
        }
    }

    static func inboxEvent(_ r: Row) -> InboxEvent {
        InboxEvent(seq: r.int(0), source: SourceKind(rawValue: r.text(1)) ?? .zendesk, eventID: r.text(2), type: r.text(3),
                   sourceUserID: r.optionalText(4), receivedAt: r.text(5), status: r.text(6), attempts: Int(r.int(7)),
                   lastError: r.optionalText(8), body: r.blob(9))
    }

    /// Events stored but not yet applied (pending) and those that failed and wait for a retry.
    public func inboxBacklog(source: SourceKind) throws -> (pending: Int, failed: Int) {
        try read { db in
            let rows = try db.query("SELECT status, count(*) FROM inbox WHERE source = ? AND status IN ('pending', 'failed') GROUP BY status",
                                    source.rawValue) { ($0.text(0), Int($0.int(1))) }
            return (rows.first { $0.0 == "pending" }?.1 ?? 0, rows.first { $0.0 == "failed" }?.1 ?? 0)
        }
    }
}
