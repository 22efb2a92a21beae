import CLinux
import Foundation
import Glibc
import SyncRules
import Signing

/// webhook-load: drives an HTTP endpoint over keep-alive connections, one request in
/// flight per connection, and prints requests/s and latency percentiles.
/// With `--secret`, every request is a fresh, uniquely identified ~1 KB Zendesk user
/// event, signed as Zendesk signs it; otherwise it sends a bare GET.
@main
enum Load {
    struct Options {
        var port = 8080
        var path = "/healthz"
        var connections = 64
        var threads = 2
        var seconds = 10.0
        var secret: String?
    }

    final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var latencies: [Double] = []
        var statuses: [Int: Int] = [:]
        var errors = 0
    }

    static func main() {
        var o = Options()
        var args = Array(CommandLine.arguments.dropFirst())
        while !args.isEmpty {
            let k = args.removeFirst()
            let v = args.isEmpty ? "" : args.removeFirst()
            switch k {
            case "--port": o.port = Int(v) ?? o.port
            case "--path": o.path = v
            case "--connections": o.connections = Int(v) ?? o.connections
            case "--threads": o.threads = Int(v) ?? o.threads
            case "--seconds": o.seconds = Double(v) ?? o.seconds
            case "--secret": o.secret = v
            default:
                FileHandle.standardError.write(Data("usage: webhook-load --port N [--path P] [--connections 64] [--threads 2] [--seconds 10] [--secret S]\n".utf8))
                exit(2)
            }
        }
        signal(SIGPIPE, SIG_IGN)
        let shared = Shared()
        let start = Date()
        let deadline = start.addingTimeInterval(o.seconds)
        var threads: [Thread] = []
        let done = DispatchGroup()
        let options = o
        for t in 0..<o.threads {
            let n = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0)
            done.enter()
            let thread = Thread {
                run(options, connections: n, worker: t, deadline: deadline, shared: shared)
                done.leave()
            }
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
        done.wait()
        let elapsed = Date().timeIntervalSince(start)
        var l = shared.latencies
        l.sort()
        func pct(_ p: Double) -> Double { l.isEmpty ? 0 : l[min(l.count - 1, Int(Double(l.count) * p))] * 1000 }
        let ok = shared.statuses[200] ?? 0
        let statuses = shared.statuses.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
        print(String(format: "%8.0f req/s   %d responses (%@)   p50 %.2f ms   p99 %.2f ms   errors %d   over %d connections",
                     Double(l.count) / elapsed, l.count, statuses, pct(0.5), pct(0.99), shared.errors, o.connections))
        exit(ok == l.count && !l.isEmpty ? 0 : 1)
    }

    static func connect(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return rc == 0 ? fd : -1
    }

    /// Builds requests cheaply (the generator shares the cores with the server): the event
    /// body is a template with the event id spliced in; only the HMAC is computed per event.
    final class Requests {
        let o: Options
        let worker: Int
        let prefix: [UInt8]
        let suffix: [UInt8]
        let type: String
        var stamp = ""
        var stampAt = 0.0

        init(_ o: Options, worker: Int) {
            self.o = o
            self.worker = worker
            type = ProcessInfo.processInfo.environment["LOAD_EVENT_TYPE"] ?? "user.name_changed"
            prefix = Array("{\"type\":\"zen:event-type:\(type)\",\"account_id\":12514403,\"id\":\"load-\(worker)-\(UInt32.random(in: 0...UInt32.max))-".utf8)
            suffix = Array(("\",\"zendesk_event_version\":\"2022-06-20\",\"subject\":\"zen:user:6596848315901\",\"detail\":{\"created_at\":\"2026-01-01T00:00:00Z\","
                + "\"email\":\"agent@abc-energy.example\",\"external_id\":\"\",\"default_group_id\":\"0\",\"id\":\"6596848315901\",\"organization_id\":\"0\","
                + "\"role\":\"agent\"},\"event\":{\"current\":\"Agent " + String(repeating: "x", count: 600) + "\",\"previous\":\"Agent\"}}").utf8)
        }

        func next(seq: Int) -> [UInt8] {
            guard let secret = o.secret else { return Array("GET \(o.path) HTTP/1.1\r\nHost: load\r\n\r\n".utf8) }
            let now = Date().timeIntervalSince1970
            if now - stampAt >= 0.5 {
                stamp = Timestamp(seconds: Int64(now)).iso8601
                stampAt = now
            }
            var body = prefix
            body.append(contentsOf: String(seq).utf8)
            body.append(contentsOf: suffix)
            let sig = ZendeskSignature.sign(secret: secret, timestamp: stamp, body: body)
            var out = Array("POST \(o.path) HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nX-Zendesk-Webhook-Signature: \(sig)\r\nX-Zendesk-Webhook-Signature-Timestamp: \(stamp)\r\n\r\n".utf8)
            out.append(contentsOf: body)
            return out
        }
    }

    final class Conn {
        let fd: Int32
        var sentAt = Date()
        var buffer: [UInt8] = []
        init(fd: Int32) { self.fd = fd }
    }

    static func run(_ o: Options, connections n: Int, worker: Int, deadline: Date, shared: Shared) {
        let ep = epoll_create1(0)
        var conns: [Int32: Conn] = [:]
        var seq = 0
        var latencies: [Double] = []
        var statuses: [Int: Int] = [:]
        var errors = 0
        let requests = Requests(o, worker: worker)
        func send(_ c: Conn) {
            seq += 1
            let req = requests.next(seq: seq)
            c.sentAt = Date()
            let n = req.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n != req.count { errors += 1 }
        }
        for _ in 0..<n {
            let fd = connect(port: o.port)
            guard fd >= 0 else { errors += 1; continue }
            let c = Conn(fd: fd)
            conns[fd] = c
            var ev = epoll_event()
            ev.events = EPOLLIN.rawValue
            ev.data.fd = fd
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)
            send(c)
        }
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline && !conns.isEmpty {
            let k = epoll_wait(ep, &events, 256, 100)
            guard k > 0 else { continue }
            for i in 0..<Int(k) {
                guard let c = conns[events[i].data.fd] else { continue }
                let r = recv(c.fd, &chunk, chunk.count, 0)
                if r <= 0 {
                    errors += 1
                    close(c.fd)
                    conns[c.fd] = nil
                    continue
                }
                c.buffer.append(contentsOf: chunk[0..<r])
                while let (status, used) = parse(c.buffer) {
                    c.buffer.removeFirst(used)
                    latencies.append(Date().timeIntervalSince(c.sentAt))
                    statuses[status, default: 0] += 1
                    if Date() < deadline { send(c) }
                }
            }
        }
        for c in conns.values { close(c.fd) }
        shared.lock.withLock {
            shared.latencies += latencies
            for (s, n) in statuses { shared.statuses[s, default: 0] += n }
            shared.errors += errors
        }
    }

    /// (status, bytes used) of a complete response at the start of `b`.
    static func parse(_ b: [UInt8]) -> (Int, Int)? {
        guard b.count >= 16 else { return nil }
        var i = 0
        var headEnd = -1
        while i + 3 < b.count {
            if b[i] == 13, b[i + 1] == 10, b[i + 2] == 13, b[i + 3] == 10 { headEnd = i + 4; break }
            i += 1
        }
        guard headEnd > 0 else { return nil }
        let head = String(decoding: b[0..<headEnd], as: UTF8.self)
        let status = Int(head.split(separator: " ")[1]) ?? 0
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        guard b.count >= headEnd + length else { return nil }
        return (status, headEnd + length)
    }
}
