import Foundation

/// Injected misbehaviour, set by `POST /_sim/faults`, and the rate-limit window Intercom
/// enforces: `limit` calls per `windowSeconds`, reported in `X-RateLimit-*` headers
/// (reference §1.9: the per-minute budget is spread over 10-second windows).
final class Faults: @unchecked Sendable {
    private let lock = NSLock()
    /// The next N API requests get 429 with only `X-RateLimit-Reset` (no Retry-After).
    var rateLimitNext = 0
    /// Seconds from now the fault's `X-RateLimit-Reset` points at.
    var resetAfter = 1
    var errorNext = 0
    var truncateNext = 0
    var latencyMillis = 0
    var unauthorized = false
    /// The next N notifications are delivered twice.
    var duplicateNext = 0
    var limit = 1666
    var windowSeconds = 10
    private var windowStart = 0
    private var used = 0

    enum Verdict { case pass, status(Int, [(String, String)]), truncate }

    private static var now: Int { Int(Date().timeIntervalSince1970) }

    /// The verdict for one API request and the rate-limit headers to send with it.
    func verdict() -> (Verdict, [(String, String)]) {
        lock.lock()
        defer { lock.unlock() }
        if unauthorized { return (.status(401, []), []) }
        if rateLimitNext > 0 {
            rateLimitNext -= 1
            return (.status(429, [("X-RateLimit-Reset", String(Self.now + resetAfter))]), [])
        }
        let now = Self.now
        let start = now - now % max(windowSeconds, 1)
        if start != windowStart { windowStart = start; used = 0 }
        used += 1
        let reset = windowStart + max(windowSeconds, 1)
        let headers = [("X-RateLimit-Limit", String(limit)), ("X-RateLimit-Remaining", String(max(0, limit - used))),
                       ("X-RateLimit-Reset", String(reset))]
        if used > limit { return (.status(429, headers), []) }
        if errorNext > 0 {
            errorNext -= 1
            return (.status(500, []), headers)
        }
        if truncateNext > 0 {
            truncateNext -= 1
            return (.truncate, headers)
        }
        return (.pass, headers)
    }

    func set(_ o: [String: Any]) {
        lock.lock()
        defer { lock.unlock() }
        if let v = o["rate_limit_next"] as? Int { rateLimitNext = v }
        if let v = o["reset_after"] as? Int { resetAfter = v }
        if let v = o["error_next"] as? Int { errorNext = v }
        if let v = o["truncate_next"] as? Int { truncateNext = v }
        if let v = o["latency_ms"] as? Int { latencyMillis = v }
        if let v = o["unauthorized"] as? Bool { unauthorized = v }
        if let v = o["duplicate_next"] as? Int { duplicateNext = v }
        if let v = o["rate_limit"] as? Int { limit = v; used = 0 }
        if let v = o["rate_window_s"] as? Int { windowSeconds = v; windowStart = 0 }
    }

    var latency: Int { lock.withLock { latencyMillis } }

    /// Whether the next notification should go out twice.
    func takeDuplicate() -> Bool {
        lock.withLock {
            guard duplicateNext > 0 else { return false }
            duplicateNext -= 1
            return true
        }
    }
}

/// Counters the simulator keeps for tests and the demo (`GET /_sim/stats`).
