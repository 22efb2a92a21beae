import Foundation
import HTTPClient
import HTTPServer
import TestSupport
import Testing

/// The receiver in a process of its own (`http-probe`), where a test may lower the
/// descriptor limit or read the process's CPU time and memory.
@Suite struct ProbeTests {
    /// CPU time (user + system) the process has used, in clock ticks.
    static func cpuTicks(_ pid: Int32) -> Int {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        let fields = stat[(stat.lastIndex(of: ")") ?? stat.startIndex)...].split(separator: " ")
        return fields.count > 13 ? (Int(fields[12]) ?? 0) + (Int(fields[13]) ?? 0) : 0
    }

    /// Resident memory in KiB.
    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test func runningOutOfDescriptorsNeitherSpinsNorStopsTheService() throws {
        let probe = try ChildProcess(Products.path("http-probe"), ["--nofile", "48"])
        let pid = probe.process.processIdentifier
        var held: [RawClient] = []
        var served = 0
        for _ in 0..<60 {
            let c = try RawClient(port: probe.port)
            c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            if c.readResponse()?.status == 200 {
                served += 1
                held.append(c)
            }
        }
        #expect(served > 10 && served < 48)
        // The table is full: more clients are accepted on the spare descriptor and
        // closed at once, rather than left in the backlog while accept fails in a loop.
        let before = Self.cpuTicks(pid)
        for _ in 0..<20 {
            let c = try RawClient(port: probe.port, receiveTimeout: 3)
            #expect(c.isClosed())
        }
        // A measuring window, not a synchronisation: a spinning loop would use all of it.
        Thread.sleep(forTimeInterval: 0.5)
        let used = Self.cpuTicks(pid) - before
        #expect(used < Int(sysconf(Int32(_SC_CLK_TCK))) / 4, "\(used) ticks")
        for c in held.prefix(3) {
            c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.status == 200)
        }
        held.removeAll()
        let deadline = Date().addingTimeInterval(5)
        var servedAgain = false
        while !servedAgain && Date() < deadline {
            let c = try RawClient(port: probe.port, receiveTimeout: 2)
            c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            servedAgain = c.readResponse()?.status == 200
        }
        #expect(servedAgain)
    }

    @Test func manyTLSHandshakesDoNotGrowMemory() throws {
        let fixture = try TLSFixture()
        let probe = try ChildProcess(Products.path("http-probe"), ["--tls", fixture.cert, fixture.key])
        var options = HTTPClient.Options()
        options.caFile = fixture.cert
        func handshakes(_ n: Int) throws {
            for _ in 0..<n {
                // A new client each time: a new connection and a full handshake.
                let r = try HTTPClient(options: options).perform(ClientRequest(url: "https://127.0.0.1:\(probe.port)/hello"))
                #expect(r.status == 200)
            }
        }
        try handshakes(100)
        let warm = Self.residentKiB(probe.process.processIdentifier)
        try handshakes(500)
        let after = Self.residentKiB(probe.process.processIdentifier)
        #expect(after - warm < 6 * 1024, "resident \(warm) KiB -> \(after) KiB")
    }
}
