import Foundation
import HTTPClient
import TestSupport
import Testing

extension ServeTests {
    /// `tls` in the config makes `serve` speak HTTPS itself; SIGHUP re-reads the pair.
    @Suite struct ServeTLSTests {
        static func issue(_ folder: TemporaryFolder, _ name: String) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=\(name)",
                           "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
                           "-keyout", folder.path + "/key.new", "-out", folder.path + "/cert.new"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            try? FileManager.default.removeItem(atPath: folder.path + "/ca-\(name).pem")
            try FileManager.default.copyItem(atPath: folder.path + "/cert.new", toPath: folder.path + "/ca-\(name).pem")
            _ = rename(folder.path + "/key.new", folder.path + "/key.pem")
            _ = rename(folder.path + "/cert.new", folder.path + "/cert.pem")
        }

        static func client(_ ca: String) -> HTTPClient {
            var o = HTTPClient.Options()
            o.caFile = ca
            return HTTPClient(options: o)
        }

        @Test func webhooksAreServedOverNativeTLSAndSIGHUPSwapsTheCertificate() throws {
            let certs = TemporaryFolder()
            try Self.issue(certs, "one")
            let h = try ServeHarness(top: #""tls": {"cert_file": "\#(certs.path)/cert.pem", "key_file": "\#(certs.path)/key.pem"},"#)
            let base = "https://127.0.0.1:\(h.port)"
            let one = Self.client(certs.path + "/ca-one.pem")
            #expect(try one.perform(ClientRequest(url: base + "/healthz")).status == 200)
            let signed = ServeHarness.signed(ServeHarness.event(type: "user.name_changed", user: "6596848315901", current: #""Ann TLS""#))
            let r = try one.perform(ClientRequest(method: "POST", url: base + "/webhooks/zendesk/abc-energy", headers: signed.headers,
                                                  body: signed.body))
            #expect(r.status == 200)
            #expect((try? HTTPClient().perform(ClientRequest(url: "http://127.0.0.1:\(h.port)/healthz")))?.status != 200,
                    "plaintext on the TLS port is refused")

            try Self.issue(certs, "two")
            kill(h.serve.process.processIdentifier, SIGHUP)
            let two = Self.client(certs.path + "/ca-two.pem")
            #expect(try h.eventually { (try? two.perform(ClientRequest(url: base + "/healthz")))?.status == 200 },
                    "new connections get the new pair")
            #expect((try? Self.client(certs.path + "/ca-one.pem").perform(ClientRequest(url: base + "/healthz")))?.status != 200)
        }
    }
}
