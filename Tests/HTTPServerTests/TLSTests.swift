import Foundation
import HTTPClient
import HTTPServer
import TestSupport
import Testing

/// A throwaway certificate made by the `openssl` command, and the `s_client` tool, for
/// talking to the receiver's native TLS as real clients do.
struct TLSFixture {
    let folder = TemporaryFolder()
    var cert: String { folder.path + "/cert.pem" }
    var key: String { folder.path + "/key.pem" }

    init(commonName: String = "one") throws { try issue(commonName: commonName) }

    /// Writes a new self-signed certificate and key for 127.0.0.1 over the old files.
    func issue(commonName: String) throws {
        let r = try Self.run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                              "-subj", "/CN=\(commonName)", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
                              "-keyout", key + ".new", "-out", cert + ".new"])
        guard r.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: r.output]) }
        _ = rename(key + ".new", key)
        _ = rename(cert + ".new", cert)
    }

    var files: ServerConfiguration.TLS { .init(certificateFile: cert, keyFile: key) }

    /// Runs `openssl ARGS` with `input` on stdin; returns its exit status and all it printed.
    static func run(_ arguments: [String], input: String = "") throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = arguments
        let stdin = Pipe(), stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = stdout
        try p.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// One request through `openssl s_client` with `options` (`-tls1_2`, `-alpn h2` …).
    func sClient(port: Int, _ options: [String]) throws -> (status: Int32, output: String) {
        try Self.run(["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", cert, "-verify_return_error", "-ign_eof"] + options,
                     input: "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    }
}

@Suite struct TLSTests {
    static func makeServer(_ fixture: TLSFixture, _ tweak: (inout ServerConfiguration) -> Void = { _ in }) throws -> HTTPServer {
        try ServerTests.makeServer { config in
            config.tls = fixture.files
            config.headTimeout = 2
            config.idleTimeout = 30
            tweak(&config)
        }
    }

    func client(_ fixture: TLSFixture) -> HTTPClient {
        var options = HTTPClient.Options()
        options.caFile = fixture.cert
        options.timeoutMillis = 5_000
        return HTTPClient(options: options)
    }

    @Test func libcurlIsServedOverHTTPSWithKeepAlive() throws {
        let fixture = try TLSFixture()
        let server = try Self.makeServer(fixture)
        defer { server.stop() }
        let http = client(fixture)
        for _ in 0..<3 {
            let r = try http.perform(ClientRequest(url: "https://127.0.0.1:\(server.port)/hello"))
            #expect(r.status == 200 && r.body == Array("hi".utf8))
        }
        let big = [UInt8](repeating: 0x62, count: 300_000)
        let echoed = try http.perform(ClientRequest(method: "POST", url: "https://127.0.0.1:\(server.port)/echo", body: big))
        #expect(echoed.body == big)
        #expect(server.openConnections == 1)
    }

    @Test func onlyTLS12And13AreAccepted() throws {
        let fixture = try TLSFixture()
        let server = try Self.makeServer(fixture)
        defer { server.stop() }
        for (flag, name) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
            let r = try fixture.sClient(port: server.port, [flag])
            #expect(r.output.contains("Protocol  : \(name)") || r.output.contains("New, \(name)"), "\(r.output)")
            #expect(r.output.contains("\r\n\r\nhi"))
        }
        // Level 0 lets this client offer TLS 1.1 at all: the refusal must be the server's.
        for flag in ["-tls1_1", "-tls1"] {
            let old = try fixture.sClient(port: server.port, [flag, "-cipher", "DEFAULT:@SECLEVEL=0"])
            #expect(old.status != 0)
            #expect(!old.output.contains("\r\n\r\nhi"))
            #expect(old.output.contains("alert protocol version") || old.output.contains("unsupported protocol"), "\(old.output)")
        }
        let r = try client(fixture).perform(ClientRequest(url: "https://127.0.0.1:\(server.port)/hello"))
        #expect(r.status == 200)
    }

    @Test func alpnNegotiatesHTTP11Only() throws {
        let fixture = try TLSFixture()
        let server = try Self.makeServer(fixture)
        defer { server.stop() }
        let both = try fixture.sClient(port: server.port, ["-alpn", "h2,http/1.1"])
        #expect(both.output.contains("ALPN protocol: http/1.1"), "\(both.output)")
        #expect(both.output.contains("\r\n\r\nhi"))
        let h2 = try fixture.sClient(port: server.port, ["-alpn", "h2"])
        #expect(h2.status != 0)
        #expect(h2.output.contains("no application protocol"), "\(h2.output)")
        let none = try fixture.sClient(port: server.port, [])
        #expect(none.output.contains("\r\n\r\nhi"))
    }

    @Test func plaintextOnTheTLSPortIsRefusedWithoutHarm() throws {
        let fixture = try TLSFixture()
        let server = try Self.makeServer(fixture)
        defer { server.stop() }
        for _ in 0..<20 {
            let plain = try RawClient(port: server.port)
            plain.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
            #expect(plain.readResponse() == nil)
            #expect(plain.isClosed())
        }
        let r = try client(fixture).perform(ClientRequest(url: "https://127.0.0.1:\(server.port)/hello"))
        #expect(r.status == 200)
        #expect(server.openConnections <= 1)
    }

    @Test func theHeadTimeoutBoundsTheHandshake() throws {
        let fixture = try TLSFixture()
        let server = try Self.makeServer(fixture) { $0.headTimeout = 0.5 }
        defer { server.stop() }
        let silent = try RawClient(port: server.port, receiveTimeout: 10)
        let stalled = try RawClient(port: server.port, receiveTimeout: 10)
        stalled.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        let started = Date()
        #expect(silent.isClosed())
        #expect(stalled.isClosed())
        #expect(Date().timeIntervalSince(started) < 9)
    }

    @Test func reloadGivesNewConnectionsTheNewCertificateWhileOpenOnesCarryOn() throws {
        let fixture = try TLSFixture(commonName: "one")
        let server = try Self.makeServer(fixture)
        defer { server.stop() }
        let open = try SClientSession(port: server.port, caFile: fixture.cert)
        defer { open.close() }
        open.send("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(open.waitFor(count: 1, of: "\r\n\r\nhi"))
        #expect(open.output.contains("CN = one") || open.output.contains("CN=one"))

        try fixture.issue(commonName: "two")
        try server.reloadTLS()
        let fresh = try fixture.sClient(port: server.port, [])
        #expect(fresh.output.contains("CN = two") || fresh.output.contains("CN=two"), "\(fresh.output)")
        #expect(fresh.output.contains("\r\n\r\nhi"))

        open.send("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(open.waitFor(count: 2, of: "\r\n\r\nhi"))
    }

    @Test func aReloadWithBadFilesKeepsThePairInService() throws {
        let fixture = try TLSFixture()
        let server = try Self.makeServer(fixture)
        defer { server.stop() }
        _ = try fixture.folder.write("cert.pem", "not a certificate")
        #expect { try server.reloadTLS() } throws: { ($0 as? TLSSetupError)?.kind == .certificate }
        let other = try TLSFixture(commonName: "other")
        try FileManager.default.removeItem(atPath: fixture.cert)
        try FileManager.default.copyItem(atPath: other.cert, toPath: fixture.cert)
        #expect { try server.reloadTLS() } throws: { ($0 as? TLSSetupError)?.kind == .mismatch }
        let r = try TLSFixture.run(["s_client", "-connect", "127.0.0.1:\(server.port)", "-ign_eof"],
                                   input: "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        #expect(r.output.contains("CN = one") || r.output.contains("CN=one"))
        #expect(r.output.contains("\r\n\r\nhi"))
    }

    @Test func startNamesTheFileItCannotUse() throws {
        let fixture = try TLSFixture()
        for (files, kind, path) in [(ServerConfiguration.TLS(certificateFile: "/nonexistent/cert.pem", keyFile: fixture.key), TLSSetupError.Kind.certificate, "/nonexistent/cert.pem"),
                                    (ServerConfiguration.TLS(certificateFile: fixture.cert, keyFile: "/nonexistent/key.pem"), .key, "/nonexistent/key.pem")] {
            var config = ServerConfiguration()
            config.port = 0
            config.tls = files
            let server = HTTPServer(configuration: config, router: Router())
            #expect { try server.start() } throws: { e in
                guard let e = e as? TLSSetupError else { return false }
                return e.kind == kind && e.path == path
            }
        }
    }
}

/// An `openssl s_client` kept open, to send several requests over one TLS connection.
final class SClientSession: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let lock = NSLock()
    private var collected = ""

    init(port: Int, caFile: String) throws {
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", caFile, "-verify_return_error", "-ign_eof"]
        process.standardInput = input
        process.standardOutput = out
        process.standardError = out
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.withLock { self.collected += String(decoding: d, as: UTF8.self) }
        }
        try process.run()
    }

    var output: String { lock.withLock { collected } }

    func send(_ text: String) { input.fileHandleForWriting.write(Data(text.utf8)) }

    /// Waits (up to 10 s) until `text` has appeared `count` times.
    func waitFor(count: Int, of text: String) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if output.components(separatedBy: text).count - 1 >= count { return true }
            usleep(10_000)
        }
        return false
    }

    func close() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
    }
}
