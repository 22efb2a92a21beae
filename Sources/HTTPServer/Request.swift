/// A request's head: what routing, pre-checks and `Expect: 100-continue` decide on
/// before the body is read.
public struct HTTPRequestHead: Sendable {
    public enum Version: Sendable, Equatable { case http10, http11 }
    public var method: String
    /// The request target as sent (`/path?query`).
    public var target: String
    public var path: String
    public var query: String?
    public var version: Version
    public var headers: HTTPHeaders
    /// Whether the connection stays open after this request (HTTP/1.1 default, 1.0 only when asked).
    public var keepAlive: Bool
    public var contentLength: Int?
    public var chunked: Bool
    public var expectContinue: Bool
    /// A problem that refuses the request without breaking framing (e.g. no Host):
    /// answered after the body is consumed, and the connection stays usable.
    public var refusal: Refusal?

    public struct Refusal: Sendable, Equatable {
        public var status: Int
        public var reason: String
    }

    /// Whether a body follows.
    public var hasBody: Bool { chunked || (contentLength ?? 0) > 0 }

    /// The value of query parameter `name`, percent-decoded.
    public func queryValue(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if PercentDecoding.decode(parts[0]) == name { return parts.count > 1 ? PercentDecoding.decode(parts[1]) : "" }
        }
        return nil
    }
}

/// A complete request: head, raw body bytes, and the route parameters the router matched.
public struct HTTPRequest: Sendable {
    public var head: HTTPRequestHead
    public var body: [UInt8]
    public var parameters = RouteParameters()
    /// The pattern of the matched route (`/webhooks/zendesk/{tenant}`), for metrics.
    public var route: String = ""

    public init(head: HTTPRequestHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }

    public var method: String { head.method }
    public var path: String { head.path }
    public var headers: HTTPHeaders { head.headers }
}

enum PercentDecoding {
    static func decode(_ s: Substring) -> String {
        var s = s
        return s.withUTF8 { decode($0) }
    }

    /// `+` as a space and `%XX` as its byte; text without either is taken as it is.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            return String(decoding: bytes, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "+") { out.append(0x20); continue }
            if c == UInt8(ascii: "%"), i + 2 <= bytes.count, let h = hex(bytes[i]), let l = hex(bytes[i + 1]) {
                out.append(h << 4 | l)
                i += 2
                continue
            }
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }
}
