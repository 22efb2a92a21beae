import Glibc

/// Routes by method and path pattern (`/webhooks/zendesk/{tenant}`), in the spirit of
/// Hummingbird's router but without async: handlers run on the event loop and answer
/// through a `Responder`, now or later from any thread.
public struct Router: Sendable {
    /// Answers a request. Call `responder.send` exactly once, from any thread.
    public typealias Handler = @Sendable (HTTPRequest, Responder) -> Void
    /// Decides from the head alone whether the request is refused before its body is read
    /// (what `Expect: 100-continue` needs: a refused request gets its final status, not
    /// 100). A route has two: `precheck`, asked of every request, for what outranks the body
    /// size limit (404 unknown tenant); `authorize`, for what the 413 outranks (401 missing
    /// credentials), asked only of a request that waits for 100: its handler must refuse
    /// the same requests the same way, and does so for the others once the body is read.
    public typealias Precheck = @Sendable (HTTPRequestHead, RouteParameters) -> HTTPResponse?

    struct Route: Sendable {
        var method: String
        var pattern: String
        var segments: [Segment]
        var precheck: Precheck?
        var authorize: Precheck?
        var handler: Handler
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    enum Match {
        case found(Route, RouteParameters)
        case methodNotAllowed(allow: [String])
        case notFound
    }

    private(set) var routes: [Route] = []
    /// Route indices by number of path segments: a lookup only tries routes that can match.
    private var bySegments: [Int: [Int]] = [:]

    public init() {}

    /// Adds a route whose handler may answer later (e.g. after a durable commit).
    public mutating func on(_ method: String, _ pattern: String, precheck: Precheck? = nil, authorize: Precheck? = nil,
                            _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/").map { s -> Segment in
            s.hasPrefix("{") && s.hasSuffix("}") ? .parameter(String(s.dropFirst().dropLast())) : .literal(String(s))
        }
        bySegments[segments.count, default: []].append(routes.count)
        routes.append(Route(method: method, pattern: pattern, segments: segments, precheck: precheck, authorize: authorize,
                            handler: handler))
    }

    /// Adds a route answered at once on the event loop.
    public mutating func on(_ method: String, _ pattern: String, precheck: Precheck? = nil, authorize: Precheck? = nil,
                            answer: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        on(method, pattern, precheck: precheck, authorize: authorize) { request, responder in responder.send(answer(request)) }
    }

    func match(method: String, path: String) -> Match {
        var bytes = path
        return bytes.withUTF8 { match(method: method, bytes: $0) }
    }

    /// Every webhook comes through here: segments are found and literals compared on the
    /// path's bytes, and only the route that answers has its parameters decoded (a split
    /// into substrings, their comparison as strings and a dictionary cost ~7,000
    /// instructions a request).
    private func match(method: String, bytes: UnsafeBufferPointer<UInt8>) -> Match {
        var segments: [Range<Int>] = []
        segments.reserveCapacity(8)
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: "/") {
            if i > start { segments.append(start..<i) }
            start = i + 1
        }
        var allowed: [String] = []
        for index in bySegments[segments.count] ?? [] where Self.literals(of: routes[index].segments, match: segments, in: bytes) {
            if routes[index].method == method {
                return .found(routes[index], Self.parameters(routes[index].segments, segments, in: bytes))
            }
            allowed.append(routes[index].method)
        }
        if method == "HEAD", allowed.contains("GET"), case .found(let r, let p) = match(method: "GET", bytes: bytes) {
            return .found(r, p)
        }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") && !allowed.contains("HEAD") { allowed.append("HEAD") }
        return .methodNotAllowed(allow: Array(Set(allowed)).sorted())
    }

    private static func literals(of segments: [Segment], match parts: [Range<Int>], in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for (seg, part) in zip(segments, parts) {
            guard case .literal(var l) = seg else { continue }
            let same = l.withUTF8 { lit in
                lit.count == part.count && (lit.isEmpty || memcmp(lit.baseAddress!, bytes.baseAddress! + part.lowerBound, lit.count) == 0)
            }
            if !same { return false }
        }
        return true
    }

    private static func parameters(_ segments: [Segment], _ parts: [Range<Int>], in bytes: UnsafeBufferPointer<UInt8>) -> RouteParameters {
        var params = RouteParameters()
        for (seg, part) in zip(segments, parts) {
            if case .parameter(let name) = seg { params[name] = PercentDecoding.decode(UnsafeBufferPointer(rebasing: bytes[part])) }
        }
        return params
    }
}

/// The values a route's `{name}` segments matched, by name: a route has one or two, so a
/// list, not a dictionary (which hashed each name to build and again to read).
public struct RouteParameters: Sendable {
    private var pairs: [(name: String, value: String)] = []

    public init() {}

    public subscript(name: String) -> String? {
        get { pairs.first { $0.name == name }?.value }
        set {
            pairs.removeAll { $0.name == name }
            if let newValue { pairs.append((name, newValue)) }
        }
    }
}
