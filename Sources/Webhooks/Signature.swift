import Signing

/// Zendesk's signature scheme now lives in `Signing` (which the simulators and the load
/// generator link without SQLite); this name keeps the webhook path's callers unchanged.
public typealias WebhookSignature = ZendeskSignature
