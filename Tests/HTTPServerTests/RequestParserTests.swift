import HTTPServer
import Testing

/// The parser on its own, request by request, in the spirit of SwiftNIO's HTTPParserTests:
/// every framing rule of RFC 9112 that SPEC §4 names, fed whole and byte by byte.
@Suite struct RequestParserTests {
    enum Outcome: Equatable {
        case request(method: String, target: String, body: String, keepAlive: Bool)
        case refused(status: Int, close: Bool)
        case incomplete
    }

    /// Parses one request from `text`, optionally one byte at a time.
    func parse(_ text: String, bytewise: Bool = false, limits: RequestParser.Limits = .init()) -> Outcome {
        var p = RequestParser(limits: limits)
        let bytes = Array(text.utf8)
        var fed = 0
        func feedMore() -> Bool {
            guard fed < bytes.count else { return false }
            let n = bytewise ? 1 : bytes.count
            p.feed(Array(bytes[fed..<min(bytes.count, fed + n)]))
            fed += n
            return true
        }
        _ = feedMore()
        var head: HTTPRequestHead?
        while head == nil {
            switch p.nextHead() {
            case .head(let h):
                head = h
            case .failure(let f):
                return .refused(status: f.status, close: f.close)
            case .incomplete:
                if !feedMore() { return .incomplete }
            }
        }
        if let r = head!.refusal { return .refused(status: r.status, close: false) }
        while true {
            switch p.readBody() {
            case .complete(let body):
                return .request(method: head!.method, target: head!.target, body: String(decoding: body, as: UTF8.self), keepAlive: head!.keepAlive)
            case .failure(let f):
                return .refused(status: f.status, close: f.close)
            case .incomplete:
                if !feedMore() { return .incomplete }
            }
        }
    }

    func both(_ text: String, limits: RequestParser.Limits = .init()) -> Outcome {
        let whole = parse(text, limits: limits)
        let bytewise = parse(text, bytewise: true, limits: limits)
        #expect(whole == bytewise, "whole and byte-by-byte parsing disagree for \(text.debugDescription)")
        return whole
    }

    static let valid: [(String, Outcome)] = [
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", .request(method: "GET", target: "/", body: "", keepAlive: true)),
        ("GET /x?y=1 HTTP/1.0\r\n\r\n", .request(method: "GET", target: "/x?y=1", body: "", keepAlive: false)),
        ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", .request(method: "GET", target: "/", body: "", keepAlive: true)),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", .request(method: "GET", target: "/", body: "", keepAlive: false)),
        ("POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", .request(method: "POST", target: "/w", body: "hello", keepAlive: true)),
        ("POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", .request(method: "POST", target: "/w", body: "hello", keepAlive: true)),
        ("POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", .request(method: "POST", target: "/w", body: "hello", keepAlive: true)),
        ("POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
         .request(method: "POST", target: "/w", body: "hello world", keepAlive: true)),
        ("POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n",
         .request(method: "POST", target: "/w", body: "0123456789", keepAlive: true)),
        ("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", .request(method: "GET", target: "/", body: "", keepAlive: true)),
        ("GET / HTTP/1.1\nHost: a\n\n", .request(method: "GET", target: "/", body: "", keepAlive: true)),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n", .request(method: "GET", target: "/", body: "", keepAlive: true)),
    ]

    @Test func acceptsValidRequests() {
        for (text, expected) in Self.valid {
            #expect(both(text) == expected, "\(text.debugDescription)")
        }
    }

    /// Framing errors: 400 and close.
    static let framing: [String] = [
        "POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!",
        "POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
        "POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello",
        "POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\nhello",
        "POST /w HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
        "POST /w HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffff\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nBad:Header: x\r\n\r\n".replacingOccurrences(of: "Bad:Header", with: "Bad\u{01}Header"),
        "GET / HTTP/1.1\r\nHost: a\r\nName : value\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n: novalue\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{00}b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        "GET /\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.x\r\nHost: a\r\n\r\n",
        "GET / http/1.1\r\nHost: a\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET nopath HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /a\u{7F} HTTP/1.1\r\nHost: a\r\n\r\n",
    ]

    @Test func framingErrorsAre400AndClose() {
        for text in Self.framing {
            #expect(both(text) == .refused(status: 400, close: true), "\(text.debugDescription)")
        }
    }

    @Test func unsupportedVersionIs505() {
        #expect(both("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == .refused(status: 505, close: true))
    }

    @Test func missingHostIs400ButKeepsTheConnection() {
        #expect(both("GET / HTTP/1.1\r\n\r\n") == .refused(status: 400, close: false))
    }

    @Test func headOverTheLimitIs431() {
        let limits = RequestParser.Limits(maxHeadBytes: 1024, maxHeaderCount: 10, maxBodyBytes: 100)
        let big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 1100) + "\r\n\r\n"
        #expect(both(big, limits: limits) == .refused(status: 431, close: true))
        let endless = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 2000)
        #expect(both(endless, limits: limits) == .refused(status: 431, close: true))
        let many = "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<11).map { "X\($0): 1\r\n" }.joined() + "\r\n"
        #expect(both(many, limits: limits) == .refused(status: 431, close: true))
        let exactly = "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<9).map { "X\($0): 1\r\n" }.joined() + "\r\n"
        #expect(both(exactly, limits: limits) == .request(method: "GET", target: "/", body: "", keepAlive: true))
    }

    @Test func chunkedBodyOverTheLimitIs413() {
        let limits = RequestParser.Limits(maxHeadBytes: 1024, maxHeaderCount: 10, maxBodyBytes: 10)
        let ok = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n"
        #expect(both(ok, limits: limits) == .request(method: "POST", target: "/", body: "1234567890", keepAlive: true))
        let over = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n6\r\n678901\r\n0\r\n\r\n"
        #expect(both(over, limits: limits) == .refused(status: 413, close: true))
    }

    @Test func incompleteInputWaits() {
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\n") == .incomplete)
        #expect(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc") == .incomplete)
        #expect(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab") == .incomplete)
    }

    @Test func pipelinedRequestsComeOutInOrder() {
        var p = RequestParser()
        p.feed(Array("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        var targets: [String] = []
        var bodies: [String] = []
        while case .head(let h) = p.nextHead() {
            targets.append(h.target)
            if case .complete(let b) = p.readBody() { bodies.append(String(decoding: b, as: UTF8.self)) }
        }
        #expect(targets == ["/1", "/2", "/3"])
        #expect(bodies == ["", "abc", ""])
    }

    @Test func headersKeepDuplicatesAndQueryDecodes() {
        var p = RequestParser()
        p.feed(Array("GET /a%20b?x=1&name=J%C3%BCrgen+M HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n".utf8))
        guard case .head(let h) = p.nextHead() else { Issue.record("no head"); return }
        #expect(h.headers.values("X-A") == ["1", "2"])
        #expect(h.headers["x-A"] == "1")
        #expect(h.queryValue("name") == "Jürgen M")
        #expect(h.path == "/a%20b")
    }

    @Test func expectContinueIsRecognised() {
        var p = RequestParser()
        p.feed(Array("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        guard case .head(let h) = p.nextHead() else { Issue.record("no head"); return }
        #expect(h.expectContinue)
        #expect(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\nContent-Length: 0\r\n\r\n") == .refused(status: 417, close: false))
    }
}
