import Glibc

/// One client connection's state, owned by a single event loop thread.
final class Connection {
    /// What one read or write on the transport did.
    enum Transfer {
        case done(Int)
        case wouldBlock
        case closed
        case failed
    }

    enum Phase {
        /// Between requests; closes after the idle timeout.
        case idle
        /// The head has started arriving (at `since`).
        case head(since: UInt64)
        /// Reading the body of `request`; `early` is a refusal answered once the body is consumed.
        case body(head: HTTPRequestHead, route: Router.Route?, parameters: RouteParameters, early: HTTPResponse?)
        /// A handler is working on a request.
        case inFlight(head: HTTPRequestHead, route: String)
        /// Response sent with `Connection: close`; draining input until the peer closes.
        case closing(since: UInt64)
    }

    let fd: Int32
    let id: UInt64
    var parser: RequestParser
    var phase: Phase = .idle
    var output: [UInt8] = []
    var outputOffset = 0
    var closeAfterWrite = false
    var peerClosed = false
    var lastActivity: UInt64
    var lastProgress: UInt64
    var interest: UInt32 = 0
    /// Not read while its unsent output is over the high-water mark.
    var readPaused = false
    let acceptedAt: UInt64
    /// Whether a request head has been parsed (the first one is timed from `acceptedAt`).
    var sawHead = false
    /// The TLS session, or nil on a plain HTTP port.
    var tls: TLSSession?
    /// A response delivered while the handler was still on the stack.
    var inlineResponse: HTTPResponse?
    var dispatching = false
    /// Counted against the connection cap (a refused connection is not).
    let counted: Bool

    init(fd: Int32, id: UInt64, limits: RequestParser.Limits, now: UInt64, counted: Bool) {
        self.fd = fd
        self.id = id
        self.parser = RequestParser(limits: limits)
        self.lastActivity = now
        self.lastProgress = now
        self.acceptedAt = now
        self.counted = counted
    }

    var pendingOutput: Int { output.count - outputOffset }

    /// Reads decrypted bytes on a TLS port, socket bytes otherwise.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Transfer {
        if let tls { return tls.read(into: buffer) }
        return receiveRaw(into: buffer)
    }

    /// Reads socket bytes as they are (also what a closing TLS connection drops).
    func receiveRaw(into buffer: UnsafeMutableRawBufferPointer) -> Transfer {
        let n = recv(fd, buffer.baseAddress, buffer.count, 0)
        if n > 0 { return .done(n) }
        if n == 0 { return .closed }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wouldBlock : .failed
    }

    func transmit(_ bytes: UnsafeRawBufferPointer) -> Transfer {
        if let tls { return tls.write(bytes) }
        while true {
            let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n > 0 { return .done(n) }
            if n < 0 && errno == EINTR { continue }
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? .wouldBlock : .failed
        }
    }

    var isInFlight: Bool {
        if case .inFlight = phase { return true }
        return false
    }

    var isClosing: Bool {
        if case .closing = phase { return true }
        return false
    }
}

/// Answers one request. The first `send` wins; later calls and calls after the
/// connection closed are ignored. Safe to call from any thread.
public final class Responder: @unchecked Sendable {
    let loop: EventLoop
    let connectionID: UInt64
    let fd: Int32

    init(loop: EventLoop, connectionID: UInt64, fd: Int32) {
        self.loop = loop
        self.connectionID = connectionID
        self.fd = fd
    }

    public func send(_ response: HTTPResponse) {
        loop.deliver(response, fd: fd, connectionID: connectionID)
    }
}
