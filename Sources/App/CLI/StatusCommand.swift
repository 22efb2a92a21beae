import JSON
import Dispatch
import FoundationEssentials
import Config
import Directory
import SyncRules

/// `status`: per tenant and source, what an operator checks first.
enum StatusCommand {
    static func run(_ words: [String], _ ctx: inout Context) throws {
        let json = ctx.args.flag("--json")
        let tenants = try ctx.tenants()
        try ctx.args.rejectUnknown(words: 1)
        var out: [JSONText] = []
        for t in tenants {
            let report = try TenantStatus.collect(tenant: t, directory: try ctx.directory(t))
            if json { out.append(report.json) } else { ctx.console.print(report.text) }
        }
        if json { ctx.console.print(JSONText.object([("tenants", .array(out))]).render(indent: 2)) }
    }
}

/// One tenant's status, shared by the CLI and the admin API.
struct TenantStatus {
    var json: JSONText
    var text: String

    static func collect(tenant t: TenantConfig, directory dir: TenantDirectory) throws -> TenantStatus {
        let counts = try dir.statusCounts()
        let conflicts = try dir.conflicts()
        var sources: [JSONText] = []
        var lines = ["tenant \(t.id): seats \(counts[.active] ?? 0)/\(t.licenceLimit) active; "
                     + "pending \(counts[.pending] ?? 0); deactivated \(counts[.deactivated] ?? 0)"]
        let configured = t.sources.map { ($0.kind, $0.enabled, $0.auth) }
        for (source, enabled, auth) in configured {
            let state = try dir.sourceState(source)
            // An OAuth source with no token yet has nothing to be ok or broken about.
            let notConnected = auth.isOAuth && state.oauthAccessToken == nil
            let authText = state.authBroken ? "broken" : notConnected ? "not connected" : "ok"
            let runs = try dir.runs(source: source, limit: 20)
            let last = runs.first
            let lastSuccess = runs.first { $0.outcome == .completed && $0.kind == .full }
            let backlog = try dir.inboxBacklog(source: source)
            let held = try dir.heldDeactivations(source: source)
            let srcConflicts = conflicts.filter { $0.source == source }
            // A disabled source has no run coming, whatever its schedule last said.
            let nextRunAt = enabled ? state.nextRunAt : nil
            sources.append(.object([
                ("source", .string(source.rawValue)), ("enabled", .bool(enabled)),
                ("auth", .string(authText)), ("auth_error", .string(state.authError)),
                ("account", .string(state.accountID)), ("last_event_at", .string(state.lastEventAt)),
                ("backlog", .int(backlog.pending)), ("failed_events", .int(backlog.failed)),
                ("last_run", Render.run(last)), ("last_success_at", .string(lastSuccess?.finishedAt)),
                ("next_run", nextRunAt.map { .object([("at", .string(Timestamp(nanoseconds: $0 * 1_000_000_000).iso8601)),
                                                            ("kind", .string(state.nextRunKind))]) } ?? .null),
                ("conflicts", .array(try srcConflicts.map { c in
                    .object([("source_user_id", .string(c.sourceUserID)), ("kind", .string(c.kind)), ("detail", .string(c.detail)),
                             ("since", .string(c.firstSeen)), ("users", .array(try conflictUsers(c, dir)))])
                })),
                ("held_deactivations", .array(held.map {
                    .object([("user_id", .int($0.userID)), ("source_user_id", .string($0.sourceUserID)),
                             ("reason", .string($0.reason)), ("run_id", .int($0.runID))])
                })),
            ]))
            let authLine = state.authBroken ? "BROKEN (\(state.authError ?? "?"))" : authText
            lines.append("  \(source.rawValue): \(enabled ? "enabled" : "disabled"), auth \(authLine), "
                         + "last event \(state.lastEventAt ?? "never"), backlog \(backlog.pending), failed \(backlog.failed)")
            if let r = last {
                let c = r.counts
                let note = r.error.map { ": \($0)" } ?? ""
                lines.append("    last run #\(r.id) \(r.kind.rawValue) \(r.outcome.rawValue) \(r.startedAt)\(note)")
                lines.append("      fetched \(c.fetched), created \(c.created), linked \(c.linked), renamed \(c.renamed), "
                             + "email changes \(c.emailChanged), deactivated \(c.deactivated), restored \(c.restored), "
                             + "unchanged \(c.unchanged), conflicts \(c.conflicts), held \(c.held)")
            } else {
                lines.append("    no runs yet")
            }
            if let next = nextRunAt {
                lines.append("    next run: \(state.nextRunKind ?? "full") at \(Timestamp(nanoseconds: next * 1_000_000_000).iso8601)")
            }
            lines.append("    conflicts \(srcConflicts.count), held deactivations \(held.count)")
            for c in srcConflicts.prefix(20) {
                let names = try c.userIDs.compactMap { try dir.user(id: $0) }
                    .map { "#\($0.user.id) \($0.user.name) <\($0.user.email ?? "-")>" }
                let who = names.isEmpty ? "" : " [" + names.joined(separator: "; ") + "]"
                lines.append("      conflict \(c.sourceUserID): \(c.detail)\(who)")
            }
            for h in held.prefix(20) { lines.append("      held: user \(h.userID) (\(h.sourceUserID)): \(h.reason)") }
        }
        let json = JSONText.object([
            ("tenant", .string(t.id)), ("licence_limit", .int(t.licenceLimit)),
            ("users", .object([("active", .int(counts[.active] ?? 0)), ("pending", .int(counts[.pending] ?? 0)),
                               ("deactivated", .int(counts[.deactivated] ?? 0))])),
            ("sources", .array(sources)),
        ])
        return TenantStatus(json: json, text: lines.joined(separator: "\n"))
    }
}

/// The local users a conflict names, with enough to tell them apart.
private func conflictUsers(_ c: ConflictRecord, _ dir: TenantDirectory) throws -> [JSONText] {
    try c.userIDs.compactMap { try dir.user(id: $0) }.map { rec in
        .object([("id", .int(rec.user.id)), ("name", .string(rec.user.name)), ("email", .string(rec.user.email))])
    }
}

/// `audit`.
enum AuditCommand {
    static func run(_ words: [String], _ ctx: inout Context) throws {
        let tenant = try ctx.tenant()
        let json = ctx.args.flag("--json")
        let user = try ctx.args.value("--user").map { raw -> Int64 in
            guard let id = Int64(raw) else { throw UsageError("--user must be a user id") }
            return id
        }
        let limit = try ctx.args.count("--limit", default: 1000)
        try ctx.args.rejectUnknown(words: 1)
        let rows = try ctx.directory(tenant).audit(userID: user, limit: limit)
        if json {
            ctx.console.print(JSONText.array(rows.map(Render.audit)).render(indent: 2))
            return
        }
        var table = Table(header: ["ID", "AT", "USER", "ACTION", "CAUSE", "CHANGE"])
        for a in rows {
            table.rows.append([String(a.id), a.at, String(a.userID), a.action, "\(a.causeKind) \(a.cause)",
                               AuditDiff.summary(before: a.before, after: a.after)])
        }
        ctx.console.print(table.render())
    }
}

/// `events list`.
enum EventCommands {
    static func run(_ words: [String], _ ctx: inout Context) throws {
        guard words.first == "list" else { throw UsageError("usage: usersync events list [--status failed|pending]") }
        let json = ctx.args.flag("--json")
        let status = try ctx.args.value("--status").map { raw -> InboxStatus in
            guard let s = InboxStatus(rawValue: raw) else { throw UsageError("--status must be pending, failed, applied or ignored") }
            return s
        }
        let limit = try ctx.args.count("--limit", default: 100)
        let tenants = try ctx.tenants()
        try ctx.args.rejectUnknown(words: 2)
        var all: [JSONText] = []
        var table = Table(header: ["TENANT", "SEQ", "SOURCE", "EVENT", "TYPE", "USER", "STATUS", "ATTEMPTS", "RECEIVED", "ERROR"])
        for t in tenants {
            for e in try ctx.directory(t).events(status: status, limit: limit) {
                all.append(.object([("tenant", .string(t.id)), ("seq", .int(e.seq)), ("source", .string(e.source.rawValue)),
                                    ("event_id", .string(e.eventID)), ("type", .string(e.type)),
                                    ("source_user_id", .string(e.sourceUserID)), ("status", .string(e.status.rawValue)),
                                    ("attempts", .int(e.attempts)), ("received_at", .string(e.receivedAt)),
                                    ("error", .string(e.lastError))]))
                table.rows.append([t.id, String(e.seq), e.source.rawValue, e.eventID, e.type, e.sourceUserID ?? "-", e.status.rawValue,
                                   String(e.attempts), e.receivedAt, e.lastError ?? ""])
            }
        }
        ctx.console.print(json ? JSONText.array(all).render(indent: 2) : table.render())
    }
}

/// A one-line "field: old → new" summary of an audit row for people.
enum AuditDiff {
    static func summary(before: String?, after: String?) -> String {
        guard let after else { return "" }
        guard let before else { return "created" }
        let b = fields(before), a = fields(after)
        let changed = a.keys.sorted().filter { a[$0] != b[$0] && $0 != "id" }
        return changed.map { "\($0): \(b[$0] ?? "null") → \(a[$0] ?? "null")" }.joined(separator: "; ")
    }

    private static func fields(_ json: String) -> [String: String] {
        guard case .object(let members)? = try? JSONValue.parse(Array(json.utf8)) else { return [:] }
        var out: [String: String] = [:]
        for (k, v) in members {
            switch v {
            case .null: out[k] = "null"
            case .string(let s): out[k] = s
            case .number(let n): out[k] = n
            case .bool(let b): out[k] = String(b)
            default: out[k] = "…"
            }
        }
        return out
    }
}
