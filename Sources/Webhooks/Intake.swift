import Config
import Desks
import JSON
import Directory
import FoundationEssentials
import SyncRules

/// One tenant's source as the receiver sees it.
public struct IntakeTarget: Sendable {
    public var tenant: String
    public var desk: any Desk
    public var config: SourceConfig
    public var enabled: Bool
    /// Secrets that may have signed the event (the configured one and/or the one stored by
    /// `install-webhook`); any one validates, so a rotation can overlap.
    public var secrets: [String]
    public var writer: InboxWriter?

    public init(tenant: String, desk: any Desk, config: SourceConfig, enabled: Bool, secrets: [String], writer: InboxWriter?) {
        self.tenant = tenant
        self.desk = desk
        self.config = config
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
    /// 200: verified, and nothing to store (Intercom's `ping`).
    case acknowledgedUnstored
    /// 4xx with a reason (401 signature or foreign account, 400 body).
    case rejected(status: Int, reason: String)
    /// 503: the store is unavailable or the inbox is overloaded.
    case unavailable(reason: String)
}

/// Verifies and stores webhook deliveries for any desk: the desk's signature check, its
/// envelope, then a durable insert before the answer.
public struct WebhookIntake: Sendable {
    /// Seconds a signature timestamp may differ from now, for desks that sign one (default
    /// 1 h: Zendesk may reuse the timestamp on retries; event-id dedup covers replays).
    public var tolerance: Int

    public init(tolerance: Int = 3600) { self.tolerance = tolerance }

    /// Why `desk` refuses a delivery on its headers alone (401), or nil: asked before the
    /// body is read, so a refused `Expect: 100-continue` request never sends it.
    public func refusal(header: (String) -> String?, desk: any Desk) -> String? {
        desk.webhooks.verifyHead(header: header, tolerance: tolerance, now: Date().timeIntervalSince1970)
    }

    /// Verifies, decodes and stores one delivery; `completion` gets the verdict once the
    /// event is durable (or refused). The check runs inline, the store in the tenant's
    /// writer (group commit).
    public func receive(_ target: IntakeTarget, header: (String) -> String?, body: [UInt8],
                        completion: @escaping @Sendable (IntakeVerdict) -> Void) {
        let format = target.desk.webhooks
        if let problem = format.verify(header: header, body: body, secrets: target.secrets, tolerance: tolerance,
                                       now: Date().timeIntervalSince1970) {
            completion(.rejected(status: 401, reason: problem))
            return
        }
        // JSON is UTF-8: a body that is not would reach the directory as U+FFFD.
        guard JSONReader.isUTF8(body) else {
            completion(.rejected(status: 400, reason: "malformed body: not UTF-8"))
            return
        }
        let envelope: WebhookEnvelope
        do {
            envelope = try format.envelope(body, config: target.config)
        } catch {
            completion(.rejected(status: error.status, reason: error.description))
            return
        }
        guard target.enabled, let writer = target.writer else {
            completion(.acknowledgedDisabled)
            return
        }
        guard let eventID = envelope.eventID else {
            completion(.acknowledgedUnstored)
            return
        }
        let record = NewInboxEvent(source: target.desk.kind, eventID: eventID, type: envelope.type,
                                   sourceUserID: envelope.sourceUserID, body: body, ignored: !envelope.handled)
        writer.submit(record) { result in
            switch result {
            case .success(let new): completion(.stored(new: new))
            case .failure(let e): completion(.unavailable(reason: "\(e)"))
            }
        }
    }
}
