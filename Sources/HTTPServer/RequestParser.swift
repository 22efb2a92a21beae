/// An incremental HTTP/1.1 request parser over one connection's byte buffer (RFC 9112,
/// strictly). Bytes are fed as they arrive; the parser hands back a head, then a body,
/// or an error status. It never performs I/O, so it is tested and fuzzed on its own.
///
/// Framing errors (anything that makes the message boundary uncertain) come back with
/// `close: true`: nothing after them may be read as a request, which is what defeats
/// request smuggling.
public struct RequestParser {
    public struct Limits: Sendable {
        public var maxHeadBytes: Int
        public var maxHeaderCount: Int
        public var maxBodyBytes: Int
        public init(maxHeadBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 1024 * 1024) {
            self.maxHeadBytes = maxHeadBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// A request the parser refuses, and whether the connection must close.
    public struct Failure: Error, Sendable, Equatable {
        public var status: Int
        public var reason: String
        public var close: Bool
    }

    public enum HeadResult: Sendable {
        case incomplete
        case head(HTTPRequestHead)
        case failure(Failure)
    }

    public enum BodyResult: Sendable {
        case incomplete
        case complete([UInt8])
        case failure(Failure)
    }

    public let limits: Limits
    public private(set) var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the end of the head resumes.
    private var scanned = 0
    private var body: BodyState = .none
    private var collected: [UInt8] = []
    private var discarding = false
    /// Chunk bytes of the current body dropped unread: bounded like a read body, or a
    /// refused request could keep a connection busy for ever.
    private var discarded = 0

    private enum BodyState {
        case none
        case length(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(bytes: Int)
    }

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Bytes received but not yet consumed.
    public var bufferedCount: Int { buffer.count - start }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    public mutating func feed(_ bytes: [UInt8]) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            scanned = 0
            start = 0
        } else if start > 65_536 {
            buffer.removeSubrange(0..<start)
            scanned -= start
            start = 0
        }
    }

    // MARK: head

    /// Parses the next request head if it has fully arrived.
    public mutating func nextHead() -> HeadResult {
        // RFC 9112 §2.2: ignore at least one empty line before the request line.
        while start < buffer.count, buffer[start] == 0x0D || buffer[start] == 0x0A {
            if buffer[start] == 0x0D {
                guard start + 1 < buffer.count else { return .incomplete }
                guard buffer[start + 1] == 0x0A else { return .failure(Failure(status: 400, reason: "bare CR", close: true)) }
                start += 2
            } else {
                start += 1
            }
        }
        scanned = max(scanned, start)
        var end = -1
        var i = scanned
        while i < buffer.count {
            if buffer[i] == 0x0A {
                if i + 1 < buffer.count, buffer[i + 1] == 0x0A { end = i + 2; break }
                if i + 2 < buffer.count, buffer[i + 1] == 0x0D, buffer[i + 2] == 0x0A { end = i + 3; break }
                if i + 2 >= buffer.count { break }
            }
            i += 1
        }
        if end < 0 {
            scanned = max(start, i - 2)
            if buffer.count - start > limits.maxHeadBytes {
                return .failure(Failure(status: 431, reason: "request head too large", close: true))
            }
            return .incomplete
        }
        if end - start > limits.maxHeadBytes {
            return .failure(Failure(status: 431, reason: "request head too large", close: true))
        }
        let result = buffer.withUnsafeBufferPointer { parseHead(UnsafeBufferPointer(rebasing: $0[start..<end])) }
        start = end
        scanned = end
        switch result {
        case .success(let head):
            if head.chunked {
                body = .chunkSize
            } else if let n = head.contentLength, n > 0 {
                body = .length(remaining: n)
            } else {
                body = .none
            }
            collected = []
            discarded = 0
            return .head(head)
        case .failure(let f):
            return .failure(f)
        }
    }

    private func parseHead(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<HTTPRequestHead, Failure> {
        func bad(_ reason: String, status: Int = 400) -> Result<HTTPRequestHead, Failure> {
            .failure(Failure(status: status, reason: reason, close: true))
        }
        // Split into lines (CRLF or LF); a CR anywhere else is an error.
        var lines: [Range<Int>] = []
        lines.reserveCapacity(16)
        var lineStart = 0
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x0A {
                var e = i
                if e > lineStart, bytes[e - 1] == 0x0D { e -= 1 }
                lines.append(lineStart..<e)
                lineStart = i + 1
            } else if c == 0x0D, !(i + 1 < bytes.count && bytes[i + 1] == 0x0A) {
                return bad("bare CR in head")
            }
            i += 1
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let requestLine = lines.first else { return bad("empty request") }

        // request-line = method SP request-target SP HTTP-version
        let rl = bytes[requestLine]
        guard let sp1 = rl.firstIndex(of: 0x20) else { return bad("malformed request line") }
        guard let sp2 = rl[(sp1 + 1)...].firstIndex(of: 0x20) else { return bad("malformed request line") }
        let methodBytes = rl[rl.startIndex..<sp1]
        let targetBytes = rl[(sp1 + 1)..<sp2]
        let versionBytes = rl[(sp2 + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(Self.isToken) else { return bad("invalid method") }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return bad("invalid request target") }
        let version: HTTPRequestHead.Version
        if versionBytes.elementsEqual("HTTP/1.1".utf8) {
            version = .http11
        } else if versionBytes.elementsEqual("HTTP/1.0".utf8) {
            version = .http10
        } else if versionBytes.count == 8, versionBytes.starts(with: "HTTP/".utf8),
                  versionBytes.dropFirst(5).enumerated().allSatisfy({
                      $0.offset == 1 ? $0.element == 0x2E : (48...57).contains($0.element)
                  }) {
            return bad("HTTP version not supported", status: 505)
        } else {
            return bad("malformed HTTP version")
        }
        let target = String(decoding: targetBytes, as: UTF8.self)
        // The origin-form part (`/path?query`) routing sees; absolute-form (RFC 9112 §3.2.2)
        // is reduced to it after its authority is checked.
        let local: Slice<UnsafeBufferPointer<UInt8>>
        if targetBytes.first == UInt8(ascii: "/") || targetBytes.elementsEqual([UInt8(ascii: "*")]) {
            local = targetBytes
        } else if let rest = Self.afterScheme(targetBytes) {
            let end = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? rest.endIndex
            // An http(s) URI with an empty host is invalid (RFC 9110 §4.2.1); '@' (userinfo)
            // is outside the host grammar, so it is refused too.
            guard end > rest.startIndex, Authority.isValid(rest[rest.startIndex..<end]) else {
                return bad("invalid request target authority")
            }
            local = rest[end...]
        } else {
            return bad("invalid request target")
        }

        var headers = HTTPHeaders()
        if lines.count - 1 > limits.maxHeaderCount {
            return .failure(Failure(status: 431, reason: "too many header fields", close: true))
        }
        headers.reserve(fields: lines.count - 1, bytes: bytes.count)
        for line in lines.dropFirst() {
            let l = bytes[line]
            guard let first = l.first else { return bad("empty header line") }
            if first == 0x20 || first == 0x09 { return bad("obsolete line folding") }
            guard let colon = l.firstIndex(of: 0x3A) else { return bad("header line without ':'") }
            let name = l[l.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(Self.isToken) else { return bad("invalid header name") }
            let value = Self.trimmed(l[(colon + 1)...])
            for c in value where (c < 0x20 && c != 0x09) || c == 0x7F { return bad("control character in header value") }
            headers.add(name: name, value: value)
        }

        // Framing: Content-Length and Transfer-Encoding (RFC 9112 §6).
        var contentLength: Int?
        var transferEncodings: [String] = []
        var hosts = 0
        var badHost = false
        var connectionTokens: [String] = []
        var expect: String?
        for i in 0..<headers.count {
            let (name, valueBytes) = headers.field(at: i)
            let kind = Self.framingHeader(name)
            if kind.isEmpty { continue }
            // The two every request has are read from their bytes (no String on the way).
            if kind == "host" {
                hosts += 1
                if !Authority.isValid(valueBytes) { badHost = true }
                continue
            }
            if kind == "content-length" {
                // One plain number (what clients send) is read from the bytes; a list, with
                // spaces, goes through the pieces. Each must be digits and all must agree.
                let lengths: [Int?] = Self.plainLength(valueBytes).map { [$0] }
                    ?? valueBytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
                        .map { Self.plainLength(Self.trimmed($0)) }
                for length in lengths {
                    guard let n = length else { return bad("invalid Content-Length") }
                    if let existing = contentLength, existing != n { return bad("conflicting Content-Length") }
                    contentLength = n
                }
                continue
            }
            let value = String(decoding: valueBytes, as: UTF8.self)
            switch kind {
            case "transfer-encoding":
                for part in valueBytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                    transferEncodings.append(String(decoding: Self.trimmed(part), as: UTF8.self).lowercased())
                }
            case "connection":
                connectionTokens += valueBytes.split(separator: UInt8(ascii: ","))
                    .map { String(decoding: Self.trimmed($0), as: UTF8.self).lowercased() }
            case "expect":
                expect = value.lowercased()
            default:
                break
            }
        }
        var chunked = false
        if !transferEncodings.isEmpty {
            if contentLength != nil { return bad("both Content-Length and Transfer-Encoding") }
            if version == .http10 { return bad("Transfer-Encoding in HTTP/1.0") }
            guard transferEncodings == ["chunked"] else { return bad("unsupported Transfer-Encoding (only a final 'chunked' is accepted)") }
            chunked = true
        }
        if hosts > 1 { return bad("more than one Host header") }
        var refusal: HTTPRequestHead.Refusal?
        if version == .http11 && hosts == 0 { refusal = .init(status: 400, reason: "missing Host header") }
        if badHost { refusal = .init(status: 400, reason: "invalid Host header") }
        let keepAlive: Bool
        if connectionTokens.contains("close") {
            keepAlive = false
        } else {
            keepAlive = version == .http11 || connectionTokens.contains("keep-alive")
        }
        if let e = expect, e != "100-continue", refusal == nil {
            refusal = .init(status: 417, reason: "unsupported Expect")
        }
        let path: String
        let query: String?
        if let q = local.firstIndex(of: UInt8(ascii: "?")) {
            path = q == local.startIndex ? "/" : String(decoding: local[local.startIndex..<q], as: UTF8.self)
            query = String(decoding: local[(q + 1)...], as: UTF8.self)
        } else {
            path = local.isEmpty ? "/" : String(decoding: local, as: UTF8.self)
            query = nil
        }
        return .success(HTTPRequestHead(
            method: String(decoding: methodBytes, as: UTF8.self), target: target, path: path, query: query, version: version,
            headers: headers, keepAlive: keepAlive, contentLength: contentLength, chunked: chunked,
            expectContinue: expect == "100-continue" && version == .http11, refusal: refusal))
    }

    /// A Content-Length value that is one run of 1 to 18 digits, else nil.
    static func plainLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var n = 0
        for b in bytes {
            guard b >= 48, b <= 57 else { return nil }
            n = n * 10 + Int(b - 48)
        }
        return n
    }

    /// `bytes` without the spaces and tabs around it (optional whitespace, RFC 9110 §5.6.3).
    static func trimmed<C: BidirectionalCollection>(_ bytes: C) -> C.SubSequence where C.Element == UInt8 {
        var s = bytes.startIndex, e = bytes.endIndex
        while s < e, bytes[s] == 0x20 || bytes[s] == 0x09 { s = bytes.index(after: s) }
        while e > s, case let p = bytes.index(before: e), bytes[p] == 0x20 || bytes[p] == 0x09 { e = p }
        return bytes[s..<e]
    }

    /// What follows `http://` or `https://` (scheme in any case), or nil for another form.
    static func afterScheme(_ t: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>>? {
        for scheme in ["http://", "https://"] {
            let s = Array(scheme.utf8)
            guard t.count > s.count else { continue }
            if zip(t, s).allSatisfy({ ($0 | 0x20) == $1 || ($0 == $1) }) { return t[(t.startIndex + s.count)...] }
        }
        return nil
    }

    /// The lower-cased name when it is one of the headers framing depends on, else "".
    /// Compared without allocating, as every header of every request passes here.
    static func framingHeader(_ name: ArraySlice<UInt8>) -> String {
        let known: String
        switch name.count {
        case 14: known = "content-length"
        case 17: known = "transfer-encoding"
        case 4: known = "host"
        case 10: known = "connection"
        case 6: known = "expect"
        default: return ""
        }
        return HTTPHeaders.same(name, known) ? known : ""
    }

    static func isToken(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    // MARK: body

    /// Reads the body of the head last returned. With `discard`, bytes are dropped
    /// (a refused request's body, consumed so the connection stays usable).
    public mutating func readBody(discard: Bool = false) -> BodyResult {
        discarding = discard
        while true {
            switch body {
            case .none:
                let out = collected
                collected = []
                return .complete(out)
            case .length(let remaining):
                let n = min(remaining, buffer.count - start)
                if n == 0 { return .incomplete }
                if !discarding { collected.append(contentsOf: buffer[start..<(start + n)]) }
                start += n
                scanned = start
                body = remaining - n == 0 ? .none : .length(remaining: remaining - n)
            case .chunkSize:
                guard let lf = buffer[start...].firstIndex(of: 0x0A) else {
                    if buffer.count - start > 1024 { return framing("chunk size line too long") }
                    return .incomplete
                }
                var lineEnd = lf
                if lineEnd > start, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = buffer[start..<lineEnd]
                let sizePart = line.prefix { $0 != UInt8(ascii: ";") }
                guard !sizePart.isEmpty, sizePart.count <= 8 else { return framing("bad chunk size") }
                var size = 0
                for c in sizePart {
                    guard let h = PercentDecoding.hex(c) else { return framing("bad chunk size") }
                    size = size << 4 | Int(h)
                }
                if line.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) { return framing("bad chunk extension") }
                start = lf + 1
                scanned = start
                if size == 0 {
                    body = .trailers(bytes: 0)
                } else {
                    if (discarding ? discarded : collected.count) + size > limits.maxBodyBytes {
                        return .failure(Failure(status: 413, reason: "body larger than \(limits.maxBodyBytes) bytes", close: true))
                    }
                    if discarding { discarded += size }
                    body = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let n = min(remaining, buffer.count - start)
                if n == 0 { return .incomplete }
                if !discarding { collected.append(contentsOf: buffer[start..<(start + n)]) }
                start += n
                scanned = start
                body = remaining - n == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            case .chunkDataEnd:
                guard buffer.count - start >= 1 else { return .incomplete }
                if buffer[start] == 0x0A {
                    start += 1
                } else if buffer[start] == 0x0D {
                    guard buffer.count - start >= 2 else { return .incomplete }
                    guard buffer[start + 1] == 0x0A else { return framing("missing CRLF after chunk") }
                    start += 2
                } else {
                    return framing("missing CRLF after chunk")
                }
                scanned = start
                body = .chunkSize
            case .trailers(let seen):
                guard let lf = buffer[start...].firstIndex(of: 0x0A) else {
                    if seen + buffer.count - start > limits.maxHeadBytes { return framing("trailers too large") }
                    return .incomplete
                }
                let lineLength = lf - start
                let empty = lineLength == 0 || (lineLength == 1 && buffer[start] == 0x0D)
                if !empty {
                    let line = buffer[start..<lf]
                    guard let colon = line.firstIndex(of: 0x3A), colon > start, line[start..<colon].allSatisfy(Self.isToken) else {
                        return framing("malformed trailer")
                    }
                }
                start = lf + 1
                scanned = start
                body = empty ? .none : .trailers(bytes: seen + lineLength + 1)
            }
        }
    }

    private func framing(_ reason: String) -> BodyResult {
        .failure(Failure(status: 400, reason: reason, close: true))
    }

    /// Whether any byte of a next request (or of a body) has arrived.
    public var hasPartialInput: Bool { start < buffer.count }
}

