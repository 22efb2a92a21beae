import SyncRules

/// Where an inbox event is in its life: `pending` until applied (retries stay pending,
/// with an attempt count and a due time), then `applied` or `ignored`; `failed` when it
/// kept failing past the attempt limit (an admin looks; reconciliation repairs the user).
public enum InboxStatus: String, Sendable, CaseIterable {
    case pending, applied, ignored, failed
}

/// A webhook event as stored in a tenant's inbox.
public struct InboxEvent: Sendable, Equatable {
    public var seq: Int64
    public var source: SourceKind
    public var eventID: String
    public var type: String
    public var sourceUserID: String?
    public var receivedAt: String
    public var status: InboxStatus
    public var attempts: Int
    public var lastError: String?
    public var body: [UInt8]
}

extension TenantDirectory {
    /// Inbox events, newest first, optionally of one status.
    public func events(status: InboxStatus? = nil, limit: Int = 100) throws -> [InboxEvent] {
        try read { db in
            let sql = "SELECT seq, source, event_id, type, source_user_id, received_at, status, attempts, last_error, "
                + "coalesce(b.body, inbox.body) FROM inbox LEFT JOIN inbox_bodies b USING (seq)"
                + (status == nil ? "" : " WHERE status = ?") + " ORDER BY seq DESC LIMIT ?"
            let args: [SQLBindable?] = (status.map { [$0.rawValue] } ?? []) + [limit]
            return try db.query(sql, arguments: args, map: Self.inboxEvent)
        }
    }

    static func inboxEvent(_ r: Row) -> InboxEvent {
        InboxEvent(seq: r.int(0), source: r.sourceKind(1), eventID: r.text(2), type: r.text(3),
                   sourceUserID: r.optionalText(4), receivedAt: r.text(5),
                   status: InboxStatus(rawValue: r.text(6)) ?? .pending, attempts: Int(r.int(7)),
                   lastError: r.optionalText(8), body: r.blob(9))
    }

    /// Events stored but not yet applied (pending, retries included) and those that failed for good.
    public func inboxBacklog(source: SourceKind) throws -> (pending: Int, failed: Int) {
        try read { db in
            let sql = "SELECT status, count(*) FROM inbox WHERE source = ? AND status IN ('pending', 'failed') GROUP BY status"
            let rows = try db.query(sql, source.rawValue) { ($0.text(0), Int($0.int(1))) }
            return (rows.first { $0.0 == "pending" }?.1 ?? 0, rows.first { $0.0 == "failed" }?.1 ?? 0)
        }
    }
}

/// A verified webhook event to store durably before it is acknowledged.
public struct NewInboxEvent: Sendable {
    public var source: SourceKind
    public var eventID: String
    public var type: String
    public var sourceUserID: String?
    public var body: [UInt8]
    /// Unknown event types are stored already settled as ignored.
    public var ignored: Bool

    public init(source: SourceKind, eventID: String, type: String, sourceUserID: String?, body: [UInt8], ignored: Bool) {
        self.source = source
        self.eventID = eventID
        self.type = type
        self.sourceUserID = sourceUserID
        self.body = body
        self.ignored = ignored
    }
}

extension TenantDirectory {
    /// Stores events in one transaction (one fsync for the whole group). Returns, per event,
    /// whether it was new (false: the same event id was stored before).
    /// `within` bounds the wait for the write lock (seconds); past it the store is
    /// `storeUnavailable` and nothing is stored.
    public func store(_ events: [NewInboxEvent], within: Double? = nil) throws -> [Bool] {
        guard !events.isEmpty else { return [] }
        return try write(within: within) { db in
            let stamp = Clock.nowToTheMillisecond()
            let now = stamp.iso8601Milliseconds
            var out: [Bool] = []
            out.reserveCapacity(events.count)
            var sources = Set<SourceKind>()
            // Bound column by column (`Statement.bindRow`): the writer thread runs these for
            // every event, and a pack's optionals bind through generic witnesses.
            let insert = try db.prepare(Queries.insertInbox), body = try db.prepare(Queries.insertInboxBody)
            for e in events {
                insert.beginRows()
                try insert.bindRow(e.source.rawValue, at: 1)
                try insert.bindRow(e.eventID, at: 2)
                try insert.bindRow(e.type, at: 3)
                try insert.bindRow(e.sourceUserID, at: 4)
                try insert.bindRow(now, at: 5)
                try insert.bindRow(e.ignored ? "ignored" : "pending", at: 6)
                try insert.bindRow(e.ignored ? now : nil, at: 7)
                let n = try insert.runBound()
                if n > 0 {
                    body.beginRows()
                    try body.bindRow(e.body, at: 1)
                    _ = try body.runBound()
                }
                out.append(n > 0)
                sources.insert(e.source)
            }
            let aSecondBefore = Timestamp(nanoseconds: stamp.nanoseconds - 1_000_000_000).iso8601Milliseconds
            for s in sources { try db.run(Queries.touchLastEvent, s.rawValue, now, aSecondBefore) }
            return out
        }
    }

    /// Events waiting to be applied (pending, or failed and due again), oldest first. Read
    /// on the connection that stored them, whose cache still holds their pages.
    public func openEvents(source: SourceKind, limit: Int, now: Int64) throws -> [InboxEvent] {
        try readBehindWrites { db in
            try db.query(Queries.openInbox, source.rawValue, now, limit, map: Self.inboxEvent)
        }
    }

    /// When the earliest failed event is due again (unix seconds), if any.
    public func nextRetry(source: SourceKind) throws -> Int64? {
        try read { db in try db.first(Queries.nextRetry, source.rawValue) { $0.optionalInt(0) } ?? nil }
    }

    /// Settles events with no directory change (ignored types, no-op events).
    public func markApplied(_ seqs: [Int64], status: InboxStatus = .applied, note: String? = nil) throws {
        guard !seqs.isEmpty else { return }
        try write(durable: false) { db in try complete(db, seqs, status: status, note: note) }
    }

    func complete(_ db: Connection, _ seqs: [Int64], status: InboxStatus = .applied, note: String? = nil) throws {
        guard !seqs.isEmpty else { return }
        var list = JSONList()
        for seq in seqs { list.append(seq) }
        try db.run(Queries.completeInbox, status.rawValue, Clock.nowText(), note, list.text)
    }

    /// Records a failed attempt. With `retryAt` (unix seconds) the event stays pending and
    /// is due again then; without, it is marked `failed` for good.
    public func recordAttempt(_ seq: Int64, error: String, retryAt: Int64?) throws {
        _ = try write(durable: false) { db in
            if let retryAt {
                try db.run(Queries.retryInbox, error, retryAt, seq)
            } else {
                try db.run(Queries.failInbox, error, Clock.nowText(), seq)
            }
        }
    }

    /// Deletes applied and ignored events settled before `before` (ISO-8601 text), at most
    /// `limit` in one short transaction; returns how many went.
    public func pruneInbox(settledBefore before: String, limit: Int = 500) throws -> Int {
        try write(durable: false) { db in
            try db.run("""
                DELETE FROM inbox WHERE seq IN (SELECT seq FROM inbox WHERE status IN ('applied', 'ignored')
                AND applied_at < ? LIMIT ?)
                """, before, limit)
        }
    }

    /// Deletes audit rows written before `before`, at most `limit` at a time.
    public func pruneAudit(before: String, limit: Int = 500) throws -> Int {
        try write(durable: false) { db in
            try db.run("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY id LIMIT ?)", before, limit)
        }
    }

    /// Counts of inbox events by status, for metrics.
    public func inboxCounts() throws -> [String: Int] {
        try read { db in
            var out: [String: Int] = [:]
            for (s, n) in try db.query("SELECT status, count(*) FROM inbox GROUP BY status", map: { ($0.text(0), Int($0.int(1))) }) {
                out[s] = n
            }
            return out
        }
    }
}
