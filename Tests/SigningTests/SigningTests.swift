import Dispatch
import Foundation
import Signing
import Synchronization
import Testing

/// The signing primitives and both desks' schemes: Zendesk against the reference vectors,
/// Intercom against `openssl dgst -sha1 -hmac`, computed as the test runs.
@Suite struct SigningTests {
    /// HMAC-SHA1 hex of `body` under `secret`, by the openssl command line.
    static func opensslSHA1(secret: String, body: [UInt8]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["openssl", "dgst", "-sha1", "-hmac", secret]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(body))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // "HMAC-SHA1(stdin)= 9f…" (the label differs between OpenSSL versions; the hex is last).
        return String(text.split(separator: " ").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let intercomBodies: [(secret: String, body: String)] = [
        ("client-secret-1", #"{"type":"notification_event","id":"notif_1","topic":"admin.removed_from_workspace","app_id":"abcd1234","created_at":1760000000,"data":{"type":"notification_event_data","item":{"type":"admin","id":42,"name":"A. Teammate","email":"a@example.com"}}}"#),
        ("s3cr3t with spaces", #"{"type":"notification_event","id":null,"topic":"ping","data":{"item":{"type":"ping","message":"Zoë Ångström"}}}"#),
        ("k", ""),
    ]

    @Test func intercomSignaturesMatchOpenSSL() throws {
        for v in Self.intercomBodies {
            let body = Array(v.body.utf8)
            let expected = try Self.opensslSHA1(secret: v.secret, body: body)
            #expect(expected.count == 40)
            #expect(IntercomSignature.sign(secret: v.secret, body: body) == "sha1=" + expected)
            #expect(IntercomSignature.isValid(header: "sha1=" + expected, secret: v.secret, body: body))
            #expect(IntercomSignature.isValid(header: " sha1=" + expected.uppercased() + " ", secret: v.secret, body: body))
        }
    }

    @Test func intercomRefusesEveryMalformedHeader() throws {
        let body = Array(Self.intercomBodies[0].body.utf8)
        let secret = Self.intercomBodies[0].secret
        let hex = try Self.opensslSHA1(secret: secret, body: body)
        var flipped = Array(hex)
        flipped[39] = flipped[39] == "0" ? "1" : "0"
        let refused: [String?] = [
            nil, "", hex, "sha256=" + hex, "sha1=", "sha1=" + hex.dropLast(), "sha1=" + hex + "0",
            "sha1=" + hex.dropLast(2) + "zz", "sha1=" + String(flipped), "sha1=" + hex + hex, "SHA1=" + hex,
        ]
        for header in refused {
            #expect(!IntercomSignature.isValid(header: header, secret: secret, body: body), "\(header ?? "nil")")
        }
        #expect(!IntercomSignature.isValid(header: "sha1=" + hex, secret: secret + "x", body: body), "another secret")
        #expect(!IntercomSignature.isValid(header: "sha1=" + hex, secret: secret, body: body + [0x20]), "another body")
    }

    // shared/reference/zendesk-signature-vectors.json, computed by an independent implementation.
    static let zendeskVectors: [(secret: String, timestamp: String, body: String, signature: String)] = [
        ("whsec-example-1", "2099-07-04T05:33:18Z",
         #"{"type":"zen:event-type:user.active_changed","account_id":12514403,"id":"2b24ef10-19d4-4740-93cf-8f98ec4776c0","time":"2099-07-04T05:33:18Z","zendesk_event_version":"2022-06-20","subject":"zen:user:6596848315901","detail":{"created_at":"2099-07-04T05:27:58Z","email":"agent@example.com","external_id":"","default_group_id":"0","id":"6596848315901","organization_id":"0","role":"end-user","updated_at":"2099-07-04T05:33:18Z"},"event":{"current":false,"previous":true}}"#,
         "SonyFsFd0598S6NKRSzX4oM0b5zoVf0BdoqCwMienPs="),
        ("dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==", "2026-11-26T10:00:00Z",
         #"{"type":"zen:event-type:user.name_changed","id":"e1","event":{"current":"Zoë Ångström-Núñez","previous":"Zoe"}}"#,
         "69Msn6PH4r1HECHFM0tQ2Aqj24HvyCX+QG4zDg+1EBA="),
        ("s", "2026-11-26T10:00:00.123456789Z", "{}", "10Qp3mRRoUoIHuUlFCdlU7xG4kcWis7aGS8cEiRzGdE="),
    ]

    @Test func zendeskSignaturesMatchTheReferenceVectors() {
        for v in Self.zendeskVectors {
            let body = Array(v.body.utf8)
            #expect(ZendeskSignature.sign(secret: v.secret, timestamp: v.timestamp, body: body) == v.signature)
            #expect(ZendeskSignature.isValid(signature: v.signature, secret: v.secret, timestamp: v.timestamp, body: body))
            #expect(!ZendeskSignature.isValid(signature: v.signature, secret: v.secret, timestamp: v.timestamp + " ", body: body))
        }
    }

    /// RFC 4231 (HMAC-SHA256) and RFC 2202 (HMAC-SHA1) test cases, through the keyed
    /// contexts the receiver reuses: the first use of a key, its reuse, an empty key, a
    /// message in two parts, more keys than the cache keeps (4,096), and many threads at once.
    @Test func keyedDigestsMatchTheRFCVectors() {
        @Sendable func hex(_ b: [UInt8]?) -> String { b.map(Hex.encode) ?? "nil" }
        let jefe = Array("Jefe".utf8), what = Array("what do ya want for nothing?".utf8)
        let sha256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        let sha1 = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        for _ in 0..<2 {
            #expect(hex(MessageAuthentication.hmac(.sha256, key: jefe, message: what)) == sha256)
            #expect(hex(MessageAuthentication.hmac(.sha1, key: jefe, message: what)) == sha1)
        }
        let key20 = [UInt8](repeating: 0x0b, count: 20), hiThere = Array("Hi There".utf8)
        #expect(hex(MessageAuthentication.hmac(.sha256, key: key20, message: hiThere))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        // A key longer than the block is digested first (RFC 4231 case 6).
        let long = [UInt8](repeating: 0xaa, count: 131)
        let blockSized = Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
        #expect(hex(MessageAuthentication.hmac(.sha256, key: long, message: blockSized))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        #expect(hex(MessageAuthentication.hmac(.sha256, key: [], message: []))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
        let split = jefe.withUnsafeBytes { key in
            what.withUnsafeBytes { m in
                MessageAuthentication.withDigest(.sha256, key: key, message: UnsafeRawBufferPointer(rebasing: m[..<10]),
                                                 UnsafeRawBufferPointer(rebasing: m[10...])) { $0.map(Array.init) }
            }
        }
        #expect(hex(split) == sha256)
        for i in 0..<5_000 {
            let key = Array("rotated-\(i)".utf8)
            #expect(MessageAuthentication.hmac(.sha256, key: key, message: what) != nil)
        }
        #expect(hex(MessageAuthentication.hmac(.sha256, key: jefe, message: what)) == sha256)
        let wrong = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            let (algorithm, expected) = t % 2 == 0 ? (MessageAuthentication.Algorithm.sha256, sha256) : (.sha1, sha1)
            for i in 0..<500 {
                let rotated = MessageAuthentication.hmac(.sha256, key: Array("k\(i % 70)".utf8), message: what)
                if hex(MessageAuthentication.hmac(algorithm, key: jefe, message: what)) != expected || rotated == nil {
                    wrong.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
    }

    @Test func base64FollowsRFC4648() {
        // RFC 4648 §10 test vectors.
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                       ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
            #expect(Base64.decode(encoded.replacingOccurrences(of: "=", with: "")) == Array(plain.utf8))
        }
        #expect(Base64.encodeURL([0xfb, 0xff]) == "-_8")
        #expect(Base64.decode("-_8") == [0xfb, 0xff])
        #expect(Base64.decode("+/8=") == [0xfb, 0xff])
        #expect(Base64.decode("Zm9v!") == nil)
        #expect(Base64.decode("Z") == nil)
    }

    @Test func hexRoundTripsAndRefusesJunk() {
        let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xab, 0xff]
        #expect(Hex.encode(bytes) == "00017f80abff")
        #expect(Hex.decode("00017F80ABff") == bytes)
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("") == [])
    }

    @Test func constantTimeEqualComparesBytes() {
        #expect(MessageAuthentication.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!MessageAuthentication.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!MessageAuthentication.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(MessageAuthentication.constantTimeEqual([UInt8](), [UInt8]()))
    }
}
