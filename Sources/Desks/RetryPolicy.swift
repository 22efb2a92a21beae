import FoundationEssentials
import Glibc
import HTTPClient
import SyncRules

/// How outbound calls survive a flaky desk: 429 waits for `Retry-After` (or, without it,
/// until `X-RateLimit-Reset`, Intercom's unix-seconds refill time); 5xx, 409,
/// connection errors, timeouts and garbled bodies retry with capped exponential backoff
/// and jitter; 401/403 stop at once. Every wait is logged once, without secrets.
public struct RetryPolicy: Sendable {
    /// Attempts for errors other than 429 (which waits as told, up to `maxRateLimitWaits` times).
    public var maxAttempts = 5
    public var baseDelay: Double = 0.5
    public var maxDelay: Double = 30
    public var maxRateLimitWaits = 20
    /// A Retry-After longer than this fails the call instead of waiting.
    public var maxRetryAfter: Double = 600

    public init() {
        if let ms = ProcessInfo.processInfo.environment["USERSYNC_BACKOFF_BASE_MS"].flatMap(Double.init) {
            baseDelay = ms / 1000
        }
    }

    func backoff(attempt: Int) -> Double {
        let exp = min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 30)))
        return exp / 2 + Double.random(in: 0...(exp / 2))
    }

    /// Sends `request` and decodes the response with `decode`, retrying as the policy says.
    /// Statuses in `passing` go to `decode` instead of failing (a 404 the caller reads);
    /// `budget`, when given, paces requests by the desk's rate-limit headers.
    func run<T>(_ http: HTTPClient, _ request: @autoclosure () async throws -> ClientRequest, what: String,
                log: @Sendable (String) -> Void, passing: Set<Int> = [], budget: RateBudget? = nil,
                decode: (ClientResponse) throws -> T) async throws -> T {
        var attempt = 0
        var rateLimitWaits = 0
        while true {
            attempt += 1
            let response: ClientResponse
            do {
                if let budget { try await budget.pace(what: what, log: log) }
                response = try await http.send(try await request())
                budget?.record(response)
            } catch let e as TransportError {
                if e.kind == .tooLarge || attempt >= maxAttempts { throw SourceError.transport(e.message) }
                let wait = backoff(attempt: attempt)
                log("\(what): \(e.message); retrying in \(Self.format(wait)) (attempt \(attempt + 1) of \(maxAttempts))")
                try await Task.sleep(for: .seconds(wait))
                continue
            }
            switch response.status {
            case _ where (200..<300).contains(response.status) || passing.contains(response.status):
                do {
                    return try decode(response)
                } catch let e as SourceError {
                    // Only a garbled body is worth asking again; a verdict the decoder drew
                    // from a passed-through status stands.
                    guard case .malformed = e, attempt < maxAttempts else { throw e }
                    let wait = backoff(attempt: attempt)
                    log("\(what): \(e); retrying in \(Self.format(wait)) (attempt \(attempt + 1) of \(maxAttempts))")
                    try await Task.sleep(for: .seconds(wait))
                }
            case 401, 403:
                throw SourceError.authBroken(status: response.status, detail: Self.errorDetail(response))
            case 429:
                rateLimitWaits += 1
                attempt -= 1
                let wait = Self.retryAfter(response) ?? Self.rateLimitReset(response) ?? backoff(attempt: rateLimitWaits)
                guard rateLimitWaits <= maxRateLimitWaits, wait <= maxRetryAfter else {
                    throw SourceError.http(status: 429, detail: "\(what): rate limited (Retry-After \(Self.format(wait)))")
                }
                log("\(what): rate limited (429); waiting \(Self.format(wait)) as the desk asks")
                try await Task.sleep(for: .seconds(wait))
            case 409, 500...599:
                if attempt >= maxAttempts {
                    throw SourceError.http(status: response.status, detail: "\(what): \(Self.errorDetail(response)) after \(attempt) attempts")
                }
                let wait = backoff(attempt: attempt)
                log("\(what): HTTP \(response.status); retrying in \(Self.format(wait)) (attempt \(attempt + 1) of \(maxAttempts))")
                try await Task.sleep(for: .seconds(wait))
            default:
                throw SourceError.http(status: response.status, detail: "\(what): \(Self.errorDetail(response))")
            }
        }
    }

    /// Seconds from `Retry-After` (delta-seconds or an HTTP-date).
    static func retryAfter(_ r: ClientResponse) -> Double? {
        guard let v = r.header("retry-after")?.trimmedSpaces else { return nil }
        if let s = Double(v) { return max(0, s) }
        return httpDate(v).map { max(0, Double($0) - Date().timeIntervalSince1970) }
    }

    /// Seconds until `X-RateLimit-Reset` (unix seconds when the window refills; Intercom,
    /// https://developers.intercom.com/docs/references/rest-api/errors/rate-limiting and
    /// shared/reference/intercom-and-webhook-practice.md §1.9). A reset already past gives
    /// nil, so the caller backs off instead of hammering.
    static func rateLimitReset(_ r: ClientResponse) -> Double? {
        guard let v = r.header("x-ratelimit-reset")?.trimmedSpaces, let reset = Double(v) else { return nil }
        let wait = reset - Date().timeIntervalSince1970
        return wait > 0 ? wait : nil
    }

    /// Unix seconds of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7).
    static func httpDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let m = months.firstIndex(of: String(parts[2])),
              let year = Int(parts[3]) else { return nil }
        let iso = "\(year)-\(m < 9 ? "0" : "")\(m + 1)-\(day < 10 ? "0" : "")\(day)T\(parts[4])Z"
        return Timestamp(iso8601: iso)?.seconds
    }

    static func errorDetail(_ r: ClientResponse) -> String {
        let text = String(decoding: r.body.prefix(300), as: UTF8.self).replacing("\n", with: " ")
        return text.isEmpty ? "HTTP \(r.status)" : text
    }

    static func format(_ s: Double) -> String {
        s < 10 ? "\(Int(s))." + String(Int((s - Double(Int(s))) * 100) + 100).dropFirst() + "s" : "\(Int(s.rounded()))s"
    }
}
