import Foundation
import HTTPServer
import TestSupport
import Testing

/// The server over real sockets on 127.0.0.1: limits, statuses, keep-alive, pipelining,
/// chunked bodies, 100-continue, timeouts, the connection cap and graceful shutdown.
@Suite(.serialized) struct ServerTests {
    /// The size of a `/big/{n}` answer's body.
    static let bigBody = 16 * 1024

    static func makeServer(_ tweak: (inout ServerConfiguration) -> Void = { _ in },
                           observer: (@Sendable (String, String, Int) -> Void)? = nil) throws -> HTTPServer {
        var config = ServerConfiguration()
        config.port = 0
        config.loops = 2
        config.headTimeout = 1
        config.bodyTimeout = 1
        config.idleTimeout = 1
        config.drainTimeout = 3
        tweak(&config)
        var router = Router()
        router.on("GET", "/hello") { _ in HTTPResponse(status: 200, text: "hi") }
        router.on("POST", "/echo") { req in HTTPResponse(status: 200, body: req.body) }
        router.on("GET", "/query") { req in HTTPResponse(status: 200, text: req.head.query ?? "-") }
        router.on("GET", "/big/{n}") { req in
            var body = Array("\(req.parameters["n"] ?? "")\n".utf8)
            body += [UInt8](repeating: UInt8(ascii: "."), count: bigBody - body.count)
            return HTTPResponse(status: 200, body: body)
        }
        router.on("HEAD", "/hook") { _ in HTTPResponse(status: 200) }
        router.on("POST", "/hook", precheck: { _, _ in nil }) { _ in HTTPResponse(status: 200, text: "stored") }
        router.on("POST", "/guarded/{name}", precheck: { _, p in p["name"] == "ok" ? nil : .error(404, "unknown") }) { req in
            HTTPResponse(status: 200, text: req.parameters["name"] ?? "")
        }
        router.on("POST", "/signed/{name}", precheck: { _, p in p["name"] == "ok" ? nil : .error(404, "unknown") },
                  authorize: { head, _ in head.headers["Signature"] == nil ? .error(401, "unsigned") : nil }) { _ in
            HTTPResponse(status: 200, text: "signed")
        }
        router.on("GET", "/slow/{ms}") { req, res in
            let ms = Int(req.parameters["ms"] ?? "0") ?? 0
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(ms)) {
                res.send(HTTPResponse(status: 200, text: "slow \(ms)"))
            }
        }
        let server = HTTPServer(configuration: config, router: router, observer: observer)
        try server.start()
        return server
    }

    let server: HTTPServer
    init() throws { server = try Self.makeServer() }

    func client() throws -> RawClient { try RawClient(port: server.port) }

    @Test func keepAliveServesManyRequestsOnOneConnection() throws {
        let c = try client()
        for _ in 0..<3 {
            c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.status == 200 && r.body == "hi")
            #expect(r.header("Date") != nil && r.header("Connection") == nil)
        }
        server.stop()
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let c = try client()
        c.send("GET /slow/80 HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\nPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET /slow/10 HTTP/1.1\r\nHost: t\r\n\r\n")
        let rs = c.readResponses(4)
        #expect(rs.map(\.body) == ["slow 80", "hi", "abc", "slow 10"])
        server.stop()
    }

    @Test func http10ClosesUnlessKeepAliveIsAsked() throws {
        let c = try client()
        c.send("GET /hello HTTP/1.0\r\n\r\n")
        #expect(c.readResponse()?.header("Connection") == "close")
        #expect(c.isClosed())
        let k = try client()
        k.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let first = k.readResponse()
        #expect(first?.status == 200)
        #expect(first?.header("Connection") == "keep-alive", "an HTTP/1.0 client learns the connection stays open")
        k.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(k.readResponse()?.status == 200)
        let v11 = try client()
        v11.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(v11.readResponse()?.header("Connection") == nil, "HTTP/1.1 keeps the connection by default")
        server.stop()
    }

    @Test func oversizedHeadIs431() throws {
        let c = try client()
        c.send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + String(repeating: "a", count: 17 * 1024) + "\r\n\r\n")
        #expect(c.readResponse()?.status == 431)
        #expect(c.isClosed())
        server.stop()
    }

    @Test func bodyOverOneMiBIs413FromContentLengthAndExactlyOneMiBIsAllowed() throws {
        let c = try client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(1024 * 1024 + 1)\r\n\r\n")
        let r = try #require(c.readResponse())
        #expect(r.status == 413)
        #expect(c.isClosed())
        let ok = try client()
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 1024 * 1024)
        ok.send(Array("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
        let echoed = try #require(ok.readResponse())
        #expect(echoed.status == 200 && echoed.body.utf8.count == body.count)
        server.stop()
    }

    @Test func framingErrorIs400AndNothingAfterItIsRead() throws {
        let c = try client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let rs = c.readResponses(2)
        #expect(rs.map(\.status) == [400])
        #expect(rs.first?.header("Connection") == "close")
        #expect(c.isClosed())
        server.stop()
    }

    @Test func refusalsThatAreNotFramingErrorsKeepTheConnection() throws {
        let c = try client()
        c.send("POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhelloGET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let rs = c.readResponses(2)
        #expect(rs.map(\.status) == [404, 200])
        c.send("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = try #require(c.readResponse())
        #expect(r.status == 405)
        #expect(r.header("Allow") == "GET, HEAD")
        c.send("GET /hello HTTP/1.1\r\n\r\n")
        #expect(c.readResponse()?.status == 400)
        c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(c.readResponse()?.status == 200)
        server.stop()
    }

    @Test func headIsAnsweredWithoutBody() throws {
        let c = try client()
        c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\nHEAD /hook HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let rs = c.readResponses(3)
        #expect(rs.map(\.status) == [200, 200, 200])
        #expect(rs[0].header("Content-Length") == "2")
        #expect(rs[2].body == "hi")
        server.stop()
    }

    @Test func chunkedBodiesWork() throws {
        let c = try client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n")
        #expect(c.readResponse()?.body == "Wikipedia")
        server.stop()
    }

    @Test func expectContinueSends100OrTheFinalStatus() throws {
        let c = try client()
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        let interim = try #require(c.readResponse())
        #expect(interim.status == 100)
        c.send("hello")
        #expect(c.readResponse()?.body == "hello")
        let refused = try client()
        refused.send("POST /guarded/nobody HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        #expect(refused.readResponse()?.status == 404)
        let big = try client()
        big.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n")
        #expect(big.readResponse()?.status == 413)
        server.stop()
    }

    @Test func expectContinueGetsTheAuthorizationRefusalInsteadOf100() throws {
        let refused = try client()
        refused.send("POST /signed/ok HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        let r = try #require(refused.readResponse())
        #expect(r.status == 401 && r.body.contains("unsigned"))
        let signed = try client()
        signed.send("POST /signed/ok HTTP/1.1\r\nHost: t\r\nSignature: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        #expect(signed.readResponse()?.status == 100)
        signed.send("hello")
        #expect(signed.readResponse()?.body == "signed")
        server.stop()
    }

    @Test func authorizationIsAskedAfterRouteAndSizeOfRequestsWaitingFor100Only() throws {
        let unknown = try client()
        unknown.send("POST /signed/nobody HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n")
        #expect(unknown.readResponse()?.status == 404)
        let big = try client()
        big.send("POST /signed/ok HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n")
        #expect(big.readResponse()?.status == 413)
        // Without Expect the body is on its way anyway: the handler, which must refuse
        // the same requests, answers after it (this test route's handler does not check).
        let c = try client()
        c.send("POST /signed/ok HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        #expect(c.readResponse()?.body == "signed")
        server.stop()
    }

    @Test func routeIsCheckedBeforeSize() throws {
        let c = try client()
        c.send("POST /guarded/nobody HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n")
        #expect(c.readResponse()?.status == 404)
        let d = try client()
        d.send("POST /guarded/ok HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n")
        #expect(d.readResponse()?.status == 413)
        server.stop()
    }

    @Test func slowClientsAreCutOff() throws {
        let head = try client()
        head.send("GET /hello HTTP/1.1\r\nHost: t\r\n")
        let started = Date()
        #expect(head.readResponse()?.status == 408)
        #expect(head.isClosed())
        #expect(Date().timeIntervalSince(started) < 3)
        let body = try client()
        body.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        #expect(body.readResponse()?.status == 408)
        let idle = try client()
        idle.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(idle.readResponse()?.status == 200)
        #expect(idle.isClosed())
        server.stop()
    }

    @Test func connectionsBeyondTheCapGet503() throws {
        server.stop()
        let capped = try Self.makeServer { $0.maxConnections = 4; $0.idleTimeout = 30 }
        var open: [RawClient] = []
        for _ in 0..<4 {
            let c = try RawClient(port: capped.port)
            c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.status == 200)
            open.append(c)
        }
        let extra = try RawClient(port: capped.port)
        let r = try #require(extra.readResponse())
        #expect(r.status == 503)
        #expect(Int(r.header("Retry-After") ?? "") ?? 99 < 60)
        #expect(extra.isClosed())
        open.removeAll()
        Thread.sleep(forTimeInterval: 0.3)
        let again = try RawClient(port: capped.port)
        again.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(again.readResponse()?.status == 200)
        capped.stop()
    }

    @Test func aSecondServerOnAPortInUseFailsToStart() throws {
        let port = server.port
        let error = #expect(throws: (any Error).self) {
            let second = try Self.makeServer { $0.port = port }
            second.stop()
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("in use"))
        // The running server still has every connection.
        for _ in 0..<8 {
            let c = try client()
            c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.body == "hi")
        }
        server.stop()
    }

    @Test func stopDrainsInFlightRequestsThenRefusesNewOnes() throws {
        let c = try client()
        c.send("GET /slow/300 HTTP/1.1\r\nHost: t\r\n\r\n")
        Thread.sleep(forTimeInterval: 0.05)
        let idle = try client()
        let port = server.port
        let started = Date()
        server.stop()
        let r = try #require(c.readResponse())
        #expect(r.status == 200 && r.body == "slow 300")
        #expect(r.header("Connection") == "close")
        #expect(idle.isClosed())
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(throws: (any Error).self) { try RawClient(port: port) }
    }
}
