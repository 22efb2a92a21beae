import CCurl
import Dispatch

/// An outbound request.
public struct ClientRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A response: status, headers (names lower-cased) and the body.
public struct ClientResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    /// `headers` with lower-cased names, as the client stores them.
    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.last { $0.0 == n }?.1
    }
}

/// A transfer that did not produce a response (connect failure, timeout, cap exceeded).
public struct TransportError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case timeout, connect, tooLarge, other }
    public var kind: Kind
    public var message: String
    public var description: String { message }
}

/// HTTP on libcurl, knowing nothing of Zendesk: one easy handle (so connections to the
/// same host are reused), TLS verification always on, bounded responses, no signals.
///
/// `curl_easy_perform` blocks, so it runs on this client's own serial dispatch queue,
/// never on Swift's cooperative thread pool; `send` bridges it to async. A task that
/// prefers `executor` runs on that queue itself and sends without a hop (see `executor`).
public final class HTTPClient: @unchecked Sendable {
    public struct Options: Sendable {
        public var connectTimeoutMillis = 10_000
        public var timeoutMillis = 60_000
        public var maxResponseBytes = 32 * 1024 * 1024
        public var userAgent = "usersync/1.0"
        /// PEM certificates to trust instead of the system's (a private CA, a test certificate).
        public var caFile: String?
        public init() {}
    }

    public let options: Options
    private let queue: DispatchQueue
    /// Set on this client's queue only (a key per client: a task on another client's
    /// queue must still hop to this one).
    private let onQueue = DispatchSpecificKey<Bool>()

    /// The client's queue as a task executor. A loop of requests and the work between
    /// them (a listing and its batches) run under `withTaskExecutorPreference(executor)`
    /// sends each request on the thread it is already on: two thread wake-ups a page (to
    /// the queue and back to the pool) were an eighth of a no-change run's CPU. Such a loop
    /// should `Task.yield()` between requests, so others queued on the client go first.
    public var executor: any TaskExecutor { queueExecutor }
    private let queueExecutor: QueueExecutor
    private let handle: UnsafeMutableRawPointer
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    public init(options: Options = Options()) {
        _ = Self.globalInit
        self.options = options
        handle = curl_easy_init()
        let queue = DispatchQueue(label: "usersync.http-client")
        queue.setSpecific(key: onQueue, value: true)
        self.queue = queue
        queueExecutor = QueueExecutor(queue)
    }

    deinit { curl_easy_cleanup(handle) }

    /// Sends `request` off the cooperative pool and returns its response.
    public func send(_ request: ClientRequest) async throws -> ClientResponse {
        if DispatchQueue.getSpecific(key: onQueue) == true { return try performLocked(request) }
        return try await withCheckedThrowingContinuation { (k: CheckedContinuation<ClientResponse, any Error>) in
            queue.async { k.resume(with: Result { try self.performLocked(request) }) }
        }
    }

    /// Sends `request`, blocking the calling thread (which must not be a Swift concurrency thread).
    public func perform(_ request: ClientRequest) throws -> ClientResponse {
        try queue.sync { try performLocked(request) }
    }

    private final class Sink {
        var body: [UInt8] = []
        var headers: [(String, String)] = []
        let limit: Int
        var overflow = false
        init(limit: Int) { self.limit = limit }
    }

    private func performLocked(_ request: ClientRequest) throws -> ClientResponse {
        let h = handle
        curl_easy_reset(h)
        let sink = Sink(limit: options.maxResponseBytes)
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }

        _ = ccurl_setopt_str(h, CURLOPT_URL, request.url)
        _ = ccurl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeoutMillis)
        _ = ccurl_setopt_long(h, CURLOPT_TIMEOUT_MS, options.timeoutMillis)
        _ = ccurl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
        _ = ccurl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
        if let ca = options.caFile { _ = ccurl_setopt_str(h, CURLOPT_CAINFO, ca) }
        _ = ccurl_setopt_str(h, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = ccurl_setopt_str(h, CURLOPT_USERAGENT, options.userAgent)
        _ = ccurl_setopt_str(h, CURLOPT_ACCEPT_ENCODING, "")
        errorBuffer.withUnsafeMutableBufferPointer { _ = ccurl_setopt_ptr(h, CURLOPT_ERRORBUFFER, $0.baseAddress) }

        for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        // We send small bodies; curl's Expect: 100-continue would only add a round trip.
        headerList = curl_slist_append(headerList, "Expect:")
        _ = ccurl_setopt_slist(h, CURLOPT_HTTPHEADER, headerList)

        let body = request.body ?? []
        switch request.method {
        case "GET": _ = ccurl_setopt_long(h, CURLOPT_HTTPGET, 1)
        case "HEAD": _ = ccurl_setopt_long(h, CURLOPT_NOBODY, 1)
        default:
            _ = ccurl_setopt_str(h, CURLOPT_CUSTOMREQUEST, request.method)
        }
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        _ = ccurl_setopt_ptr(h, CURLOPT_WRITEDATA, sinkPointer)
        _ = ccurl_setopt_datacb(h, CURLOPT_WRITEFUNCTION) { ptr, size, count, user in
            let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            if sink.body.count + n > sink.limit {
                sink.overflow = true
                return 0
            }
            ptr!.withMemoryRebound(to: UInt8.self, capacity: n) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
            return n
        }
        _ = ccurl_setopt_ptr(h, CURLOPT_HEADERDATA, sinkPointer)
        _ = ccurl_setopt_datacb(h, CURLOPT_HEADERFUNCTION) { ptr, size, count, user in
            let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            let line = ptr!.withMemoryRebound(to: UInt8.self, capacity: n) {
                String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
            }
            if line.hasPrefix("HTTP/") {
                sink.headers.removeAll()
            } else if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].lowercased()
                let value = String(line[line.index(after: colon)...]).trimmed
                sink.headers.append((name, value))
                if name == "content-length", let n = Int(value), n <= sink.limit { sink.body.reserveCapacity(n) }
            }
            return n
        }

        let rc: CURLcode = body.withUnsafeBufferPointer { buf in
            if request.method != "GET" && request.method != "HEAD" {
                _ = ccurl_setopt_long(h, CURLOPT_POSTFIELDSIZE, buf.count)
                let fields = UnsafeMutableRawPointer(mutating: buf.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                _ = ccurl_setopt_ptr(h, CURLOPT_POSTFIELDS, fields)
            }
            return curl_easy_perform(h)
        }
        // The error buffer and POSTFIELDS must not outlive this call.
        _ = ccurl_setopt_ptr(h, CURLOPT_ERRORBUFFER, nil)

        guard rc == CURLE_OK else {
            if sink.overflow {
                throw TransportError(kind: .tooLarge, message: "\(request.method) \(Self.redacted(request.url)): "
                    + "response larger than \(options.maxResponseBytes) bytes")
            }
            let detail = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            let text = detail.isEmpty ? String(cString: curl_easy_strerror(rc)) : detail
            let kind: TransportError.Kind = rc == CURLE_OPERATION_TIMEDOUT ? .timeout
                : (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) ? .connect : .other
            throw TransportError(kind: kind, message: "\(request.method) \(Self.redacted(request.url)): \(text)")
        }
        var status = 0
        _ = ccurl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return ClientResponse(status: status, headers: sink.headers, body: sink.body)
    }

    /// The URL without its query (which may carry a cursor or code not meant for logs).
    public static func redacted(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
}

extension String {
    fileprivate var trimmed: String {
        let space: Set<Character> = [" ", "\t", "\r", "\n", "\r\n"]
        var s = self[...]
        while let f = s.first, space.contains(f) { s = s.dropFirst() }
        while let l = s.last, space.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
