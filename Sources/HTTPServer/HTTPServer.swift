import FoundationEssentials
import Glibc

/// An HTTP/1.1 server on raw POSIX sockets: one epoll event loop per core, each with its
/// own SO_REUSEPORT listener. It knows routes and bytes, nothing about Zendesk.
///
/// ```swift
/// var router = Router()
/// router.on("GET", "/healthz") { _ in .ok }
/// let server = HTTPServer(configuration: config, router: router)
/// try server.start()
/// server.stop()   // stop accepting, drain in-flight requests, join the loops
/// ```
public final class HTTPServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    private let router: Router
    private let shared: ServerShared
    private var loops: [EventLoop] = []
    private var threads: [pthread_t] = []
    /// The bound port (useful with port 0).
    public private(set) var port: Int = 0

    /// `observer` sees every response: (route pattern or "unmatched", method, status). The
    /// method is one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS or "other", so the
    /// labels an observer makes of them are a fixed set.
    public init(configuration: ServerConfiguration, router: Router,
                observer: (@Sendable (_ route: String, _ method: String, _ status: Int) -> Void)? = nil) {
        self.configuration = configuration
        self.router = router
        self.shared = ServerShared(observer: observer)
    }

    /// Binds and starts the event loops; returns once the port accepts connections.
    /// Throws `TLSSetupError` when TLS is configured and its files cannot be used.
    public func start() throws {
        signal(SIGPIPE, SIG_IGN)
        if let files = configuration.tls {
            let context = try TLSContext(files)
            shared.tls.withLock { $0 = context }
        }
        let count = configuration.loops > 0 ? configuration.loops : max(1, ProcessInfo.processInfo.activeProcessorCount)
        if configuration.port != 0 { try Socket.ensureUnused(host: configuration.host, port: configuration.port) }
        let first = try Socket.listen(host: configuration.host, port: configuration.port)
        port = first.port
        var fds = [first.fd]
        for _ in 1..<count {
            fds.append(try Socket.listen(host: configuration.host, port: port).fd)
        }
        for fd in fds {
            let loop = try EventLoop(listenFD: fd, config: configuration, router: router, shared: shared)
            loops.append(loop)
            threads.append(try Self.spawn { loop.run() })
        }
    }

    /// Open client connections (across loops).
    public var openConnections: Int { shared.open.load(ordering: .relaxed) }

    /// The most unsent response bytes any one connection has held since start: what
    /// `outputHighWater` bounds (plus the one answer that crossed it).
    public var peakConnectionOutput: Int { shared.peakPending.load(ordering: .relaxed) }

    /// Re-reads the configured certificate and key: connections accepted from now on use
    /// them, open ones carry on with the pair they began with. On an error the pair in
    /// service stays. Nothing happens on a plain HTTP server.
    public func reloadTLS() throws(TLSSetupError) {
        guard let files = configuration.tls else { return }
        let context = try TLSContext(files)
        shared.tls.withLock { $0 = context }
    }

    /// Stops accepting, lets in-flight requests finish (up to `drainTimeout`), closes
    /// everything and returns when every loop has exited.
    public func stop() {
        for l in loops { l.requestStop() }
        for t in threads { pthread_join(t, nil) }
        threads.removeAll()
    }

    /// A plain thread for an event loop (not a Dispatch or Swift concurrency thread: it
    /// blocks in epoll_wait for its whole life).
    static func spawn(_ body: @escaping () -> Void) throws -> pthread_t {
        final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 1 << 20)
        defer { pthread_attr_destroy(&attributes) }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(&thread, &attributes, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw Socket.Failure(message: "cannot start an event loop thread (\(rc))")
        }
        return thread
    }
}
