import Directory
import SyncRules

/// The stable JSON shapes of `--json` output (documented in the README).
enum Render {
    static func user(_ r: UserRecord, tenant: String) -> JSONText {
        let u = r.user
        return .object([
            ("id", .int(u.id)), ("tenant", .string(tenant)), ("name", .string(u.name)), ("email", .string(u.email)),
            ("username", .string(u.username)), ("external_id", .string(u.externalID)), ("status", .string(u.status.rawValue)),
            ("origin", .string(u.origin.rawValue)), ("deactivated_by", .string(u.deactivatedBy?.rawValue)),
            ("reason", .string(u.reason)),
            ("links", .array(r.links.map { .object([("source", .string($0.source.rawValue)), ("source_user_id", .string($0.sourceUserID))]) })),
            ("created_at", .string(r.createdAt)), ("updated_at", .string(r.updatedAt)),
        ])
    }

    static func counts(_ c: SyncCounts) -> JSONText {
        .object(c.fields.map { ($0.0, .int($0.1)) })
    }

    static func run(_ r: RunRecord?) -> JSONText {
        guard let r else { return .null }
        return .object([
            ("id", .int(r.id)), ("kind", .string(r.kind.rawValue)), ("outcome", .string(r.outcome.rawValue)),
            ("started_at", .string(r.startedAt)), ("finished_at", .string(r.finishedAt)), ("error", .string(r.error)),
            ("pages", .int(r.pages)), ("counts", counts(r.counts)),
        ])
    }

    static func audit(_ a: AuditEntry) -> JSONText {
        .object([
            ("id", .int(a.id)), ("user_id", .int(a.userID)), ("at", .string(a.at)), ("action", .string(a.action)),
            ("cause", .object([("kind", .string(a.causeKind)), ("ref", .string(a.cause))])),
            ("before", .string(a.before)), ("after", .string(a.after)),
        ])
    }
}
