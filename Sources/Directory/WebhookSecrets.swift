import SyncRules

/// Webhook signing secrets stored by `install-webhook`: the newest, and the one it replaced
/// while an overlap window lasts, so deliveries signed just before a rotation still verify.
public struct StoredWebhookSecrets: Sendable, Equatable {
    public init(current: String? = nil, previous: String? = nil, previousUntil: Int64? = nil) {
        self.current = current
        self.previous = previous
        self.previousUntil = previousUntil
    }

    public var current: String?
    public var previous: String?
    /// Unix seconds after which `previous` no longer verifies.
    public var previousUntil: Int64?

    /// The secrets that verify at `now`.
    public func valid(at now: Int64) -> [String] {
        var out = current.map { [$0] } ?? []
        if let p = previous, let until = previousUntil, now < until { out.append(p) }
        return out
    }
}

extension TenantDirectory {
    /// Stores a newly installed webhook's id and secret; the secret it replaces keeps
    /// verifying for `overlap` seconds.
    public func installWebhookSecret(source: SourceKind, webhookID: String, secret: String) throws {
        _ = try write { db in
            try db.run("""
                INSERT INTO source_state (source, webhook_id, webhook_secret) VALUES (?, ?, ?)
                ON CONFLICT (source) DO UPDATE SET
                previous_webhook_secret = CASE WHEN webhook_secret IS NOT excluded.webhook_secret THEN webhook_secret
                                          ELSE previous_webhook_secret END,
                webhook_secret_rotated_at = CASE WHEN webhook_secret IS NOT excluded.webhook_secret THEN ?
                                            ELSE webhook_secret_rotated_at END,
                webhook_id = excluded.webhook_id, webhook_secret = excluded.webhook_secret
                """, source.rawValue, webhookID, secret, Clock.nowSeconds())
        }
    }

    /// The stored secrets; a previous one whose overlap has passed is forgotten for good.
    public func webhookSecrets(source: SourceKind, overlap: Int64) throws -> StoredWebhookSecrets {
        let found = try read { db in
            try db.first("SELECT webhook_secret, previous_webhook_secret, webhook_secret_rotated_at FROM source_state WHERE source = ?",
                         source.rawValue) { r in
                StoredWebhookSecrets(current: r.optionalText(0), previous: r.optionalText(1),
                                     previousUntil: r.optionalInt(2).map { $0 + overlap })
            }
        } ?? StoredWebhookSecrets()
        if found.previous != nil, let until = found.previousUntil, until <= Clock.nowSeconds() {
            _ = try write(durable: false) { db in
                try db.run("UPDATE source_state SET previous_webhook_secret = NULL WHERE source = ? AND webhook_secret_rotated_at <= ?",
                           source.rawValue, until - overlap)
            }
            return StoredWebhookSecrets(current: found.current)
        }
        return found
    }
}
