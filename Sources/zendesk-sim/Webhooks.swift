import SimulatorSupport
import Foundation
import HTTPClient
import JSON
import SyncRules
import Signing

/// Pushes Zendesk-format user events, signed as Zendesk signs them, to registered URLs,
/// in order, retrying the statuses Zendesk retries (409, 429/503 with a short Retry-After).
final class WebhookPusher: @unchecked Sendable {
    struct Target {
        var id: String
        var url: String
        var secret: String
        var name = ""
    }

    private let lock = NSLock()
    private var targets: [Target] = []
    private let queue = DispatchQueue(label: "zendesk-sim.webhooks")
    private let client = HTTPClient()
    private let stats: SimulatorStats
    let accountID: Int64 = 12_514_403

    init(stats: SimulatorStats) { self.stats = stats }

    /// Adds a webhook. The API adds as Zendesk does, a second one to the same URL included
    /// (each then delivers every event); `/_sim/webhooks` replaces the URL's.
    func register(_ t: Target, replacingURL: Bool = true) {
        lock.lock()
        if replacingURL { targets.removeAll { $0.url == t.url } }
        targets.append(t)
        lock.unlock()
    }

    /// Every registered webhook, in the order made.
    var all: [Target] {
        lock.lock()
        defer { lock.unlock() }
        return targets
    }

    /// Changes the webhook `id` (nil when there is none).
    @discardableResult
    func update(_ id: String, _ change: (inout Target) -> Void) -> Target? {
        lock.lock()
        defer { lock.unlock() }
        guard let i = targets.firstIndex(where: { $0.id == id }) else { return nil }
        change(&targets[i])
        return targets[i]
    }

    func remove(_ id: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let before = targets.count
        targets.removeAll { $0.id == id }
        return targets.count < before
    }

    var secrets: [String: String] {
        lock.lock()
        defer { lock.unlock() }
        return Dictionary(targets.map { ($0.id, $0.secret) }, uniquingKeysWith: { a, _ in a })
    }

    /// Sends one event for `user` (after the change).
    func push(type: String, user: SimUser, event: String) {
        lock.lock()
        let current = targets
        lock.unlock()
        guard !current.isEmpty else { return }
        let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
        let body = """
        {"type":"zen:event-type:\(type)","account_id":\(accountID),"id":"\(UUID().uuidString.lowercased())",\
        "time":"\(now.iso8601)","zendesk_event_version":"2022-06-20","subject":"zen:user:\(user.id)",\
        "detail":{"created_at":"\(Timestamp(seconds: user.createdAt).iso8601)","email":\(JSONWriter.quote(user.email ?? "")),\
        "external_id":\(JSONWriter.quote(user.externalID ?? "")),"default_group_id":"0","id":"\(user.id)","organization_id":"0",\
        "role":"\(user.role)","updated_at":"\(Timestamp(seconds: user.updatedAt).iso8601)"},"event":\(event)}
        """
        for t in current {
            queue.async { self.deliver(Array(body.utf8), to: t, timestamp: now.iso8601) }
        }
    }

    private func deliver(_ body: [UInt8], to t: Target, timestamp: String) {
        let signature = ZendeskSignature.sign(secret: t.secret, timestamp: timestamp, body: body)
        let request = ClientRequest(method: "POST", url: t.url, headers: [
            ("Content-Type", "application/json"),
            ("X-Zendesk-Account-Id", String(accountID)),
            ("X-Zendesk-Webhook-Id", t.id),
            ("X-Zendesk-Webhook-Invocation-Id", String(Int.random(in: 1_000_000...9_999_999))),
            ("X-Zendesk-Webhook-Signature", signature),
            ("X-Zendesk-Webhook-Signature-Timestamp", timestamp),
        ], body: body)
        for attempt in 0..<5 {
            do {
                let r = try client.perform(request)
                if (200..<300).contains(r.status) {
                    stats.bump("webhooks_delivered")
                    return
                }
                let retryAfter = r.header("retry-after").flatMap(Int.init)
                let retryable = r.status == 409 || ((r.status == 429 || r.status == 503) && (retryAfter ?? 0) < 60)
                guard retryable, attempt < 4 else {
                    stats.bump("webhooks_failed")
                    return
                }
                Thread.sleep(forTimeInterval: Double(min(retryAfter ?? 1, 2)))
            } catch {
                if attempt == 4 { stats.bump("webhooks_failed") }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
    }

    /// Blocks until every queued delivery has been attempted.
    func flush() { queue.sync {} }
}
