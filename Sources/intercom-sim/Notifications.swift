import SimulatorSupport
import Foundation
import HTTPClient
import JSON
import Signing

/// Pushes Intercom notifications, signed as Intercom signs them (`X-Hub-Signature`,
/// HMAC-SHA1 of the body with the client secret), to the registered URL, and behaves as
/// Intercom's delivery does (reference §2.1, §2.5): the URL must answer HEAD with 200 to be
/// registered; a failed delivery is retried once after a delay; 410 disables the
/// subscription. Deliveries can be held, then released in order, reversed or shuffled.
final class Notifier: @unchecked Sendable {
    struct Target {
        var url: String
        var secret: String
    }

    private let lock = NSLock()
    private var target: Target?
    private var holding = false
    private var held: [[UInt8]] = []
    private var lastCreated: Int64 = 0
    private let queue = DispatchQueue(label: "intercom-sim.notifications")
    private let client = HTTPClient()
    private let stats: SimulatorStats
    private let faults: Faults
    private let workspace: Workspace
    /// Intercom retries once after a minute; the simulator's delay is configurable.
    var retryDelayMillis = 1000

    init(stats: SimulatorStats, faults: Faults, workspace: Workspace) {
        self.stats = stats
        self.faults = faults
        self.workspace = workspace
    }

    /// Checks `url` with HEAD as Intercom does; registers it only on 200. Returns the status
    /// the URL gave (nil: it could not be reached).
    func register(url: String, secret: String) -> Int? {
        let status = try? client.perform(ClientRequest(method: "HEAD", url: url)).status
        stats.bump("head_checks")
        if status == 200 {
            lock.withLock { target = Target(url: url, secret: secret) }
            stats.bump("subscriptions")
        }
        return status
    }

    /// Retries the HEAD check for up to `seconds` in the background (for `--webhook-url`,
    /// when the receiver may start after the simulator).
    func registerEventually(url: String, secret: String, seconds: Int = 30) {
        DispatchQueue.global().async {
            for _ in 0..<(seconds * 10) {
                if self.register(url: url, secret: secret) == 200 { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
            FileHandle.standardError.write(Data("intercom-sim: \(url) never answered HEAD with 200; not subscribed\n".utf8))
        }
    }

    var isSubscribed: Bool { lock.withLock { target != nil } }

    /// A strictly increasing `created_at`, so ordering by it is well defined.
    private func stamp() -> Int64 {
        lock.withLock {
            lastCreated = max(lastCreated + 1, Int64(Date().timeIntervalSince1970))
            return lastCreated
        }
    }

    /// Sends one notification of `topic` about `admin` (its id as a number, as captured
    /// deliveries have it). Returns the envelope id.
    @discardableResult
    func notify(topic: String, admin: SimAdmin) -> String {
        let id = "notif_" + UUID().uuidString.lowercased()
        send(envelope(id: "\"\(id)\"", topic: topic, item: admin.render(idAsNumber: true)))
        return id
    }

    /// A `ping`: its envelope id is null (reference §2.3).
    func ping() {
        send(envelope(id: "null", topic: "ping", item: "{\"type\":\"ping\",\"message\":\"Something for the ping\"}"))
    }

    private func envelope(id: String, topic: String, item: String) -> [UInt8] {
        let created = stamp()
        return Array("""
        {"type":"notification_event","app_id":\(JSONWriter.quote(workspace.appID)),"data":{"type":"notification_event_data",\
        "item":\(item)},"links":{},"id":\(id),"topic":\(JSONWriter.quote(topic)),"delivery_status":"pending",\
        "delivery_attempts":1,"delivered_at":0,"first_sent_at":\(created),"created_at":\(created),"self":null}
        """.utf8)
    }

    private func send(_ body: [UInt8]) {
        let copies = faults.takeDuplicate() ? 2 : 1
        lock.lock()
        guard let t = target else {
            lock.unlock()
            stats.bump("notifications_unsubscribed")
            return
        }
        if holding {
            for _ in 0..<copies { held.append(body) }
            lock.unlock()
            stats.bump("notifications_held")
            return
        }
        lock.unlock()
        for _ in 0..<copies { queue.async { self.deliver(body, to: t) } }
    }

    func hold() { lock.withLock { holding = true } }

    /// Stops holding and sends what was held, in `order`: `fifo`, `reverse` or `shuffle`.
    func release(order: String) -> Int {
        lock.lock()
        holding = false
        var batch = held
        held = []
        let t = target
        lock.unlock()
        switch order {
        case "reverse": batch.reverse()
        case "shuffle": batch.shuffle()
        default: break
        }
        if let t { for body in batch { queue.async { self.deliver(body, to: t) } } }
        return batch.count
    }

    private func deliver(_ body: [UInt8], to t: Target) {
        let request = ClientRequest(method: "POST", url: t.url, headers: [
            ("Content-Type", "application/json"), ("Accept", "application/json"),
            ("User-Agent", "intercom-parrot-service-client/1.0"),
            ("X-Hub-Signature", IntercomSignature.sign(secret: t.secret, body: body)),
        ], body: body)
        for attempt in 0..<2 {
            stats.bump("notification_attempts")
            let status = try? client.perform(request).status
            if let status, (200..<300).contains(status) {
                stats.bump("notifications_delivered")
                return
            }
            if status == 410 {
                // Intercom disables the subscription on 410 (reference §2.5).
                lock.withLock { if target?.url == t.url { target = nil } }
                stats.bump("subscriptions_disabled")
                return
            }
            if attempt == 0 { Thread.sleep(forTimeInterval: Double(retryDelayMillis) / 1000) }
        }
        stats.bump("notifications_failed")
    }

    /// Blocks until every queued delivery has been attempted.
    func flush() { queue.sync {} }
}
