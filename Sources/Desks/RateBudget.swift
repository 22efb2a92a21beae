import FoundationEssentials
import HTTPClient
import Synchronization
import SyncRules

/// Slows a client down before the desk says 429: it remembers the last
/// `X-RateLimit-Limit` / `-Remaining` / `-Reset` a desk sent and, once fewer than
/// `lowShare` of the window's calls remain, spreads the rest evenly until the reset
/// (none left: waits for the reset). Intercom advises exactly this
/// (https://developers.intercom.com/docs/references/rest-api/errors/rate-limiting;
/// shared/reference/intercom-and-webhook-practice.md §1.9: 10-second windows).
public final class RateBudget: Sendable {
    struct Window { var limit: Int; var remaining: Int; var reset: Double }

    public let lowShare: Double
    /// Never waits longer than this for one call (a reset far off means a skewed clock).
    public let maxWait: Double
    private let window = Mutex<Window?>(nil)

    public init(lowShare: Double = 0.1, maxWait: Double = 60) {
        self.lowShare = lowShare
        self.maxWait = maxWait
    }

    /// Reads the rate-limit headers of `response`; responses without them change nothing.
    public func record(_ response: ClientResponse) {
        guard let limit = response.header("x-ratelimit-limit").flatMap({ Int($0.trimmedSpaces) }),
              let remaining = response.header("x-ratelimit-remaining").flatMap({ Int($0.trimmedSpaces) }),
              let reset = response.header("x-ratelimit-reset").flatMap({ Double($0.trimmedSpaces) }), limit > 0
        else { return }
        window.withLock { $0 = Window(limit: limit, remaining: remaining, reset: reset) }
    }

    /// How long the next call should wait, counting it against the remembered window.
    public func delay(now: Double = Date().timeIntervalSince1970) -> Double {
        window.withLock { w -> Double in
            guard var current = w else { return 0 }
            let left = current.reset - now
            guard left > 0 else { w = nil; return 0 }
            guard Double(current.remaining) < Double(current.limit) * lowShare else { return 0 }
            let wait = current.remaining <= 0 ? left : left / Double(current.remaining + 1)
            current.remaining -= 1
            w = current
            return min(wait, maxWait)
        }
    }

    func pace(what: String, log: @Sendable (String) -> Void) async throws {
        let wait = delay()
        guard wait > 0 else { return }
        log("\(what): rate limit nearly spent; pacing \(RetryPolicy.format(wait))")
        try await Task.sleep(for: .seconds(wait))
    }
}
