import CLinux
import Glibc

/// The few POSIX socket calls the server makes, with errors as values.
enum Socket {
    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func errorText(_ what: String) -> Failure {
        Failure(message: "\(what): \(String(cString: strerror(errno)))")
    }

    /// A non-blocking IPv4 listening socket; `reusePort` lets one socket per event loop share the port.
    static func listen(host: String, port: Int, backlog: Int32 = 4096) throws -> (fd: Int32, port: Int) {
        let fd = try bound(host: host, port: port, flags: Int32(SOCK_NONBLOCK.rawValue), reusePort: true)
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = errorText("listen")
            close(fd)
            throw e
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return (fd, Int(UInt16(bigEndian: bound.sin_port)))
    }

    /// Throws "address in use" when another socket (another process's) listens on the
    /// address. The loops' listeners share their port through SO_REUSEPORT, which would
    /// as gladly share it with a second `serve` started on the same address, the kernel
    /// then splitting connections between the two; a probe bound without it fails instead.
    /// (Two processes starting in the same instant can both pass the probe: the check is
    /// for the common mistake, not a lock.)
    static func ensureUnused(host: String, port: Int) throws {
        close(try bound(host: host, port: port, flags: 0, reusePort: false))
    }

    /// A TCP socket bound to `host:port` (`localhost` is 127.0.0.1), closed again on failure.
    private static func bound(host: String, port: Int, flags: Int32, reusePort: Bool) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | flags | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw errorText("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &addr.sin_addr) == 1 else {
            close(fd)
            throw Failure(message: "listen: '\(host)' is not an IPv4 address")
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errorText("bind \(host):\(port)")
            close(fd)
            throw e
        }
        return fd
    }

    static func accept(_ listener: Int32) -> Int32 {
        clinux_accept4(listener, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func monotonicMillis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    /// IMF-fixdate for the Date header (RFC 9110 §5.6.7).
    static func httpDate() -> String {
        var t = time(nil)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, 64, "%a, %d %b %Y %H:%M:%S GMT", &tmv)
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
