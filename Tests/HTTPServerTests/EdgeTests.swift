import Foundation
import HTTPServer
import Synchronization
import TestSupport
import Testing

/// What the receiver must withstand at the edge (SPEC §4), over real sockets: RFC 9112
/// targets and Host, silent connections, clients that never read, hostile methods,
/// unread chunked bodies.
@Suite struct EdgeTests {
    @Test func absoluteFormTargetsAreRoutedByTheirPathAndQuery() throws {
        let server = try ServerTests.makeServer()
        defer { server.stop() }
        let c = try RawClient(port: server.port)
        c.send("GET http://127.0.0.1:\(server.port)/hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(c.readResponse()?.body == "hi")
        c.send("GET HTTPS://example.com/query?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(c.readResponse()?.body == "a=1&b=2")
        c.send("POST http://h/echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")
        #expect(c.readResponse()?.body == "abc")
        c.send("GET http://h?x HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(c.readResponse()?.status == 404)
    }

    @Test(arguments: ["http://user@h/hello", "http:///hello", "http://h:99999/hello", "http://h h/hello", "ftp://h/hello", "hello"])
    func malformedTargetsAre400(target: String) throws {
        let server = try ServerTests.makeServer()
        defer { server.stop() }
        let c = try RawClient(port: server.port)
        c.send("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(c.readResponse()?.status == 400)
    }

    @Test(arguments: ["a b", "exa mple.com", "h:port", "h:99999", "h:-1", "h:80:80", "user@h", "user:pw@h:80", "[::1", "[zz]", "[::1]x",
                      "a/b", "a?b", "a#b", "%zz", "h\u{01}", "\u{7f}", "a\\b", "<h>", "\"h\""])
    func invalidHostValuesAre400(host: String) throws {
        let server = try ServerTests.makeServer()
        defer { server.stop() }
        let c = try RawClient(port: server.port)
        c.send("GET /hello HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        #expect(c.readResponse()?.status == 400)
        let old = try RawClient(port: server.port)
        old.send("GET /hello HTTP/1.0\r\nHost: \(host)\r\n\r\n")
        #expect(old.readResponse()?.status == 400)
    }

    @Test(arguments: ["example.com", "127.0.0.1:8080", "[::1]:80", "[v1.x]", "xn--bcher-kva.example", "a_b-c~d.e", "h:", "", "%41.example"])
    func validHostValuesAreServed(host: String) throws {
        let server = try ServerTests.makeServer()
        defer { server.stop() }
        let c = try RawClient(port: server.port)
        c.send("GET /hello HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        #expect(c.readResponse()?.status == 200)
    }

    @Test func hostIsRequiredOnceForHTTP11() throws {
        let server = try ServerTests.makeServer()
        defer { server.stop() }
        let none = try RawClient(port: server.port)
        none.send("GET /hello HTTP/1.1\r\n\r\n")
        #expect(none.readResponse()?.status == 400)
        let two = try RawClient(port: server.port)
        two.send("GET /hello HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n")
        #expect(two.readResponse()?.status == 400)
        #expect(two.isClosed())
    }

    @Test func aSilentConnectionIsClosedWithinTheHeadTimeoutOfItsAccept() throws {
        // Idle timeout far beyond the client's wait: only the head timeout can close it.
        let server = try ServerTests.makeServer { $0.headTimeout = 0.5; $0.idleTimeout = 60 }
        defer { server.stop() }
        let silent = try RawClient(port: server.port, receiveTimeout: 10)
        let started = Date()
        #expect(silent.isClosed())
        #expect(Date().timeIntervalSince(started) < 9)
        // A served connection then waits for its next request under the idle timeout.
        let served = try RawClient(port: server.port, receiveTimeout: 2)
        served.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(served.readResponse()?.status == 200)
        served.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(served.readResponse()?.status == 200)
    }

    @Test func aClientThatNeverReadsIsNotReadUntilItDrainsAndGetsEveryAnswerInOrder() throws {
        let server = try ServerTests.makeServer { $0.idleTimeout = 60; $0.headTimeout = 60 }
        defer { server.stop() }
        let count = 3000
        let c = try RawClient(port: server.port, receiveTimeout: 10)
        var sendLimit = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &sendLimit, socklen_t(MemoryLayout<timeval>.size))
        var requests: [UInt8] = []
        for i in 0..<count { requests += Array("GET /big/\(i) HTTP/1.1\r\nHost: t\r\n\r\n".utf8) }
        c.send(requests)
        // The answers (48 MiB) are far more than the socket buffers hold: the server must
        // stop answering with a bounded amount queued.
        let high = ServerConfiguration().outputHighWater
        let deadline = Date().addingTimeInterval(10)
        while server.peakConnectionOutput < high && Date() < deadline { usleep(5_000) }
        #expect(server.peakConnectionOutput >= high)
        #expect(server.peakConnectionOutput < high + ServerTests.bigBody + 1024)

        var buffer: [UInt8] = []
        var offset = 0
        var answered = 0
        var inOrder = true
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let terminator = Array("\r\n\r\n".utf8)
        reading: while answered < count {
            while let end = buffer[offset...].firstRange(of: terminator) {
                let head = String(decoding: buffer[offset..<end.lowerBound], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                guard buffer.count >= end.upperBound + length else { break }
                let body = buffer[end.upperBound..<(end.upperBound + length)]
                if !body.starts(with: Array("\(answered)\n".utf8)) { inOrder = false }
                answered += 1
                offset = end.upperBound + length
            }
            if offset > 1 << 20 {
                buffer.removeSubrange(0..<offset)
                offset = 0
            }
            let n = recv(c.fd, &chunk, chunk.count, 0)
            if n <= 0 { break reading }
            buffer += chunk[0..<n]
        }
        #expect(answered == count)
        #expect(inOrder)
        #expect(server.peakConnectionOutput < high + ServerTests.bigBody + 1024)
    }

    @Test func metricLabelsComeFromFixedSetsWhateverMethodsArrive() throws {
        let seen = Mutex<Set<[String]>>([])
        let server = try ServerTests.makeServer(observer: { route, method, _ in seen.withLock { _ = $0.insert([route, method]) } })
        defer { server.stop() }
        let c = try RawClient(port: server.port)
        let known = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
        var methods = known.filter { $0 != "HEAD" } + ["get", "BREW", "M-SEARCH", "PROPFIND", "X"]
        for _ in 0..<50 {
            let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&'*+-.^_`|~0123456789")
            methods.append(String((0..<Int.random(in: 1...12)).map { _ in letters.randomElement()! }))
        }
        for m in methods {
            for path in ["/hello", "/nope", "/guarded/x", "/big/1"] {
                c.send("\(m) \(path) HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
                #expect(c.readResponse() != nil)
            }
        }
        let labels = seen.withLock { $0 }
        let routes = Set(labels.map { $0[0] })
        #expect(Set(labels.map { $0[1] }).isSubset(of: Set(known + ["other"])))
        #expect(routes.isSubset(of: ["/hello", "/guarded/{name}", "/big/{n}", "unmatched"]))
        #expect(labels.contains(["unmatched", "other"]) && labels.contains(["/hello", "GET"]))
    }

    @Test func anUnreadChunkedBodyBeyondTheLimitClosesTheConnection() throws {
        let server = try ServerTests.makeServer { $0.maxBodyBytes = 64 * 1024 }
        defer { server.stop() }
        // Refused (404), small: consumed and the connection stays.
        let small = try RawClient(port: server.port)
        small.send("POST /nope HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(small.readResponses(2).map(\.status) == [404, 200])
        // Refused and endless: cut off once it passes the body limit, still answered 404
        // (the route outranks the size, SPEC §4).
        let endless = try RawClient(port: server.port)
        endless.send("POST /nope HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = Array("4000\r\n".utf8) + [UInt8](repeating: 0x61, count: 0x4000) + Array("\r\n".utf8)
        for _ in 0..<8 { endless.send(chunk) }
        let answer = endless.readResponse()
        #expect(answer?.status == 404)
        #expect(answer?.header("Connection") == "close")
        #expect(endless.isClosed())
    }
}
