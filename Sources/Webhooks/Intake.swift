import Directory
import FoundationEssentials
import SyncRules

/// One tenant's source as the receiver sees it.
public struct IntakeTarget: Sendable {
    public var tenant: String
    public var source: SourceKind
    public var enabled: Bool
    /// Secrets that may have signed the event (the configured one and/or the one stored by
    /// `install-webhook`); any one validates, so a rotation can overlap.
    public var secrets: [String]
    public var writer: InboxWriter?

    public init(tenant: String, source: SourceKind, enabled: Bool, secrets: [String], writer: InboxWriter?) {
        self.tenant = tenant
        self.source = source
        self.enabled = enabled
        self.secrets = secrets
        self.writer = writer
    }
}

/// What the receiver answers for one webhook delivery.
public enum IntakeVerdict: Sendable, Equatable {
    /// 200: stored durably (`new`), or already stored before (a redelivery).
    case stored(new: Bool)
    /// 200: the source is disabled; verified, nothing stored.
    case acknowledgedDisabled
    /// 4xx with a reason (401 signature, 400 body).
    case rejected(status: Int, reason: String)
    /// 503: the store is unavailable or the inbox is overloaded.
    case unavailable(reason: String)
}

/// Verifies and stores webhook deliveries: signature (timestamp + raw body, constant time,
/// within a tolerance), body, then a durable insert before the answer.
public struct WebhookIntake: Sendable {
    /// Seconds a signature timestamp may differ from now (default 1 h: Zendesk may reuse
    /// the timestamp on retries; event-id dedup covers replays).
    public var tolerance: Int

    public init(tolerance: Int = 3600) { self.tolerance = tolerance }

    /// Checks the Zendesk signature headers; nil when valid.
    public func verifyZendesk(signature: String?, timestamp: String?, body: [UInt8], secrets: [String], now: Date = Date()) -> String? {
        guard let signature, !signature.isEmpty, let timestamp, !timestamp.isEmpty else { return "missing signature headers" }
        guard let ts = Timestamp(iso8601: timestamp) else { return "signature timestamp is not ISO-8601" }
        let skew = abs(Double(ts.nanoseconds) / 1e9 - now.timeIntervalSince1970)
        guard skew <= Double(tolerance) else { return "signature timestamp outside tolerance" }
        guard !secrets.isEmpty else { return "no webhook secret is configured for this source" }
        for secret in secrets where WebhookSignature.isValid(signature: signature, secret: secret, timestamp: timestamp, body: body) {
            return nil
        }
        return "signature does not match"
    }

    /// Verifies, decodes and stores one Zendesk delivery; `completion` gets the verdict
    /// once the event is durable (or refused). Runs the check inline, the store in the
    /// tenant's writer (group commit).
    public func receiveZendesk(_ target: IntakeTarget, signature: String?, timestamp: String?, body: [UInt8],
                               completion: @escaping @Sendable (IntakeVerdict) -> Void) {
        if let problem = verifyZendesk(signature: signature, timestamp: timestamp, body: body, secrets: target.secrets) {
            completion(.rejected(status: 401, reason: problem))
            return
        }
        let event: ZendeskEvent
        do {
            event = try ZendeskEvent.decode(body)
        } catch {
            completion(.rejected(status: 400, reason: "\(error)"))
            return
        }
        guard target.enabled, let writer = target.writer else {
            completion(.acknowledgedDisabled)
            return
        }
        let handled = EventInterpreter.isHandled(event.type)
        let record = NewInboxEvent(source: target.source, eventID: event.id, type: event.type, sourceUserID: event.userID,
                                   body: body, ignored: !handled)
        writer.submit(record) { result in
            switch result {
            case .success(let new): completion(.stored(new: new))
            case .failure(let e): completion(.unavailable(reason: "\(e)"))
            }
        }
    }
}
