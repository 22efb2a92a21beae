import Foundation

/// Injected misbehaviour, set by flags or `POST /_sim/faults`.
final class Faults: @unchecked Sendable {
    private let lock = NSLock()
    /// The next N API requests get 429 with `Retry-After: retryAfter`.
    var rateLimitNext = 0
    var retryAfter = 1
    /// The next N API requests get 500.
    var errorNext = 0
    /// The next N API responses have their body cut in half.
    var truncateNext = 0
    /// Every API response waits this long.
    var latencyMillis = 0
    /// Listing page number N (1-based) of every listing answers 500 while set.
    var failPage = 0
    /// Every API request answers 401 while set.
    var unauthorized = false
    /// Listing pages are computed at once but sent this much later (a run "past" a user).
    var listDelayMillis = 0
    /// Show User for these ids answers 404 with a proxy's HTML page, not RecordNotFound.
    var proxy404Users: Set<String> = []

    enum Verdict { case pass, status(Int, [(String, String)]), truncate }

    func verdict(page: Int?) -> Verdict {
        lock.lock()
        defer { lock.unlock() }
        if unauthorized { return .status(401, []) }
        if rateLimitNext > 0 {
            rateLimitNext -= 1
            return .status(429, [("Retry-After", String(retryAfter))])
        }
        if errorNext > 0 {
            errorNext -= 1
            return .status(500, [])
        }
        if let page, failPage > 0, page == failPage { return .status(500, []) }
        if truncateNext > 0 {
            truncateNext -= 1
            return .truncate
        }
        return .pass
    }

    func set(_ o: [String: Any]) {
        lock.lock()
        defer { lock.unlock() }
        if let v = o["rate_limit_next"] as? Int { rateLimitNext = v }
        if let v = o["retry_after"] as? Int { retryAfter = v }
        if let v = o["error_next"] as? Int { errorNext = v }
        if let v = o["truncate_next"] as? Int { truncateNext = v }
        if let v = o["latency_ms"] as? Int { latencyMillis = v }
        if let v = o["fail_page"] as? Int { failPage = v }
        if let v = o["unauthorized"] as? Bool { unauthorized = v }
        if let v = o["list_delay_ms"] as? Int { listDelayMillis = v }
        if let v = o["proxy_404_users"] as? [Any] { proxy404Users = Set(v.map { "\($0)" }) }
    }

    var listDelay: Int {
        lock.lock()
        defer { lock.unlock() }
        return listDelayMillis
    }

    func isProxy404(_ id: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return proxy404Users.contains(id)
    }

    var latency: Int {
        lock.lock()
        defer { lock.unlock() }
        return latencyMillis
    }
}

