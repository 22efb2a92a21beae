import CLinux
import Glibc
import Synchronization

/// One thread running epoll over its own listening socket (SO_REUSEPORT) and the
/// connections it accepted. Parsing and quick handlers run right here; handlers that
/// answer later post their response back through a mailbox and an eventfd.
final class EventLoop: @unchecked Sendable {
    let epfd: Int32
    let wakeFD: Int32
    var listenFD: Int32
    let config: ServerConfiguration
    let router: Router
    let limits: RequestParser.Limits
    let shared: ServerShared
    var connections: [Int32: Connection] = [:]
    var nextID: UInt64 = 1
    let mailbox = Mutex<[(fd: Int32, id: UInt64, response: HTTPResponse)]>([])
    let stopRequested = Atomic<Bool>(false)
    var draining = false
    var drainDeadline: UInt64 = 0
    var now: UInt64 = Socket.monotonicMillis()
    var date = Array(Socket.httpDate().utf8)
    var dateStamp: UInt64 = 0
    var scratch = [UInt8](repeating: 0, count: 65_536)
    var threadID: pthread_t?
    /// Held open so that, out of descriptors, a pending connection can still be accepted
    /// and closed at once.
    var spareFD: Int32
    /// While out of descriptors, accepting waits until this moment (0: not paused).
    var acceptPausedUntil: UInt64 = 0

    init(listenFD: Int32, config: ServerConfiguration, router: Router, shared: ServerShared) throws {
        self.listenFD = listenFD
        self.config = config
        self.router = router
        self.shared = shared
        self.limits = RequestParser.Limits(maxHeadBytes: config.maxHeadBytes, maxHeaderCount: config.maxHeaderCount,
                                           maxBodyBytes: config.maxBodyBytes)
        spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard epfd >= 0, wakeFD >= 0 else { throw Socket.errorText("epoll") }
        register(listenFD, events: EPOLLIN.rawValue)
        register(wakeFD, events: EPOLLIN.rawValue)
    }

    func register(_ fd: Int32, events: UInt32) {
        var ev = epoll_event()
        ev.events = events
        ev.data.fd = fd
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)
    }

    // MARK: cross-thread entry points

    var onLoopThread: Bool {
        guard let t = threadID else { return false }
        return pthread_equal(t, pthread_self()) != 0
    }

    func deliver(_ response: HTTPResponse, fd: Int32, connectionID: UInt64) {
        if onLoopThread {
            guard let c = connections[fd], c.id == connectionID else { return }
            if c.dispatching {
                c.inlineResponse = response
            } else {
                finish(c, response)
            }
            return
        }
        let first = mailbox.withLock { box -> Bool in
            box.append((fd, connectionID, response))
            return box.count == 1
        }
        if first { wake() }
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: the loop

    func run() {
        threadID = pthread_self()
        var events = [epoll_event](repeating: epoll_event(), count: 512)
        var nextSweep = now + 250
        while true {
            let n = epoll_wait(epfd, &events, Int32(events.count), acceptPausedUntil == 0 ? 250 : 50)
            now = Socket.monotonicMillis()
            if n > 0 {
                for i in 0..<Int(n) {
                    let fd = events[i].data.fd
                    let ev = events[i].events
                    if fd == listenFD {
                        acceptAll()
                    } else if fd == wakeFD {
                        var v: UInt64 = 0
                        _ = read(wakeFD, &v, 8)
                        processMailbox()
                    } else if let c = connections[fd] {
                        if ev & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 && ev & EPOLLIN.rawValue == 0 {
                            closeConnection(c)
                            continue
                        }
                        if let tls = c.tls, tls.handshaking {
                            advanceHandshake(c)
                            continue
                        }
                        if ev & EPOLLOUT.rawValue != 0 {
                            flush(c)
                            if connections[fd] === c, c.tls?.readWantsWrite == true { onReadable(c) }
                        }
                        if ev & EPOLLIN.rawValue != 0, connections[fd] === c {
                            if c.tls?.writeWantsRead == true { flush(c) }
                            if connections[fd] === c, !c.readPaused || c.isClosing { onReadable(c) }
                        }
                    }
                }
            }
            if acceptPausedUntil != 0, now >= acceptPausedUntil, listenFD >= 0 { resumeAccepting() }
            if stopRequested.load(ordering: .acquiring) && !draining { beginDrain() }
            if now >= nextSweep {
                sweep()
                nextSweep = now + 250
            }
            if draining && (connections.isEmpty || now >= drainDeadline) {
                for c in Array(connections.values) { closeConnection(c) }
                break
            }
        }
        close(epfd)
        close(wakeFD)
        if spareFD >= 0 { close(spareFD) }
    }

    func refreshDate() {
        if now - dateStamp >= 500 || dateStamp == 0 {
            date = Array(Socket.httpDate().utf8)
            dateStamp = now
        }
    }

    func setInterest(_ c: Connection, _ events: UInt32, add: Bool = false) {
        guard add || events != c.interest else { return }
        var ev = epoll_event()
        // Peer half-close is only of interest while reading: reported level-triggered to a
        // connection that is not reading, it would wake the loop without end.
        ev.events = events & EPOLLIN.rawValue != 0 ? events | EPOLLRDHUP.rawValue : events
        ev.data.fd = c.fd
        epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev)
        c.interest = events
    }

    func updateInterest(_ c: Connection) {
        if c.pendingOutput >= config.outputHighWater { c.readPaused = true }
        var want: UInt32 = 0
        // Keep reading while a handler works (pipelined bytes wait in the buffer), unless the
        // buffer is already as large as any request may be, or the client is not reading
        // its answers.
        if !c.peerClosed && (!c.readPaused || c.isClosing)
            && c.parser.bufferedCount <= config.maxHeadBytes + config.maxBodyBytes + 65_536 { want |= EPOLLIN.rawValue }
        if c.pendingOutput > 0 || c.tls?.readWantsWrite == true { want |= EPOLLOUT.rawValue }
        if c.tls?.writeWantsRead == true { want |= EPOLLIN.rawValue }
        setInterest(c, want)
    }

    func onReadable(_ c: Connection) {
        repeat {
            let result = scratch.withUnsafeMutableBytes { c.isClosing ? c.receiveRaw(into: $0) : c.receive(into: $0) }
            switch result {
            case .done(let n):
                c.lastActivity = now
                c.lastProgress = now
                if c.isClosing { return }
                scratch.withUnsafeBytes { c.parser.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                process(c)
                flush(c)
            case .closed:
                if c.isClosing || (c.output.isEmpty && !c.isInFlight && !c.parser.hasPartialInput) {
                    closeConnection(c)
                    return
                }
                c.peerClosed = true
                process(c)
                flush(c)
                if connections[c.fd] === c, !c.isInFlight, c.outputOffset >= c.output.count { closeConnection(c) }
                return
            case .wouldBlock:
                if c.tls?.readWantsWrite == true { updateInterest(c) }
                return
            case .failed:
                closeConnection(c)
                return
            }
            // Decrypted bytes left inside libssl raise no epoll event: read them now.
        } while connections[c.fd] === c && !c.readPaused && c.tls?.hasBufferedInput == true
    }

    /// Parses and answers as many buffered requests as possible, strictly in order.
    func process(_ c: Connection) {
        while !c.closeAfterWrite {
            switch c.phase {
            case .closing, .inFlight:
                return
            case .idle, .head:
                guard c.parser.hasPartialInput else {
                    c.phase = .idle
                    return
                }
                // Answers the client has not read yet: no new request until they drain.
                if c.readPaused || c.pendingOutput >= config.outputHighWater {
                    c.readPaused = true
                    return
                }
                switch c.parser.nextHead() {
                case .incomplete:
                    if case .idle = c.phase { c.phase = .head(since: c.sawHead ? now : c.acceptedAt) }
                    return
                case .failure(let f):
                    queue(c, HTTPResponse.error(f.status, f.reason), head: nil, forceClose: true)
                    return
                case .head(let head):
                    startBody(c, head)
                }
            case .body(let head, let route, let params, let early):
                switch c.parser.readBody(discard: early != nil) {
                case .incomplete:
                    return
                case .failure(let f):
                    // A body read only to be discarded (the answer was decided from the head,
                    // e.g. 404) keeps that answer when it turns out too large: the route
                    // outranks the size (SPEC §4). Bad framing is 400 whatever came before.
                    if let early, f.status == 413 {
                        queue(c, early, head: head, forceClose: true)
                    } else {
                        queue(c, HTTPResponse.error(f.status, f.reason), head: nil, forceClose: true)
                    }
                    return
                case .complete(let body):
                    if let early {
                        c.phase = .idle
                        queue(c, early, head: head)
                    } else if let route {
                        dispatch(c, route: route, request: HTTPRequest(head: head, body: body), parameters: params)
                    }
                }
            }
        }
    }

    /// Decides what a request gets before its body is read, in SPEC order: route (404/405)
    /// and the route's own pre-check, then size (413, from Content-Length), then, only for
    /// a client waiting for 100 Continue, the route's authorization (401/403).
    func startBody(_ c: Connection, _ head: HTTPRequestHead) {
        c.sawHead = true
        var early: HTTPResponse?
        var route: Router.Route?
        var params = RouteParameters()
        let tooLarge = (head.contentLength ?? 0) > config.maxBodyBytes
        if let refusal = head.refusal {
            early = .error(refusal.status, refusal.reason)
        } else {
            switch router.match(method: head.method, path: head.path) {
            case .notFound:
                early = .error(404, "not found")
            case .methodNotAllowed(let allow):
                early = .error(405, "method not allowed", headers: [("Allow", allow.joined(separator: ", "))])
            case .found(let r, let p):
                route = r
                params = p
                early = r.precheck?(head, p)
                if early == nil && tooLarge { early = .error(413, "body larger than \(config.maxBodyBytes) bytes") }
                // Only a client waiting for 100 needs the answer now: for the rest the handler,
                // which checks the same, answers it after the body (a webhook's signature
                // check would otherwise run its header part twice).
                if early == nil, head.expectContinue, head.hasBody { early = r.authorize?(head, p) }
            }
        }
        if let e = early {
            shared.observe(route?.pattern ?? "unmatched", head.method, e.status)
            // A body we will not read (too large, or never sent because we refused before
            // 100 Continue) ends the connection after the answer.
            if tooLarge || (head.expectContinue && head.hasBody) {
                queue(c, e, head: head, forceClose: true)
                return
            }
        } else if head.expectContinue, head.hasBody {
            c.output.append(contentsOf: Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        c.phase = .body(head: head, route: route, parameters: params, early: early)
    }

    func dispatch(_ c: Connection, route: Router.Route, request: HTTPRequest, parameters: RouteParameters) {
        var request = request
        request.parameters = parameters
        request.route = route.pattern
        c.phase = .inFlight(head: request.head, route: route.pattern)
        c.dispatching = true
        route.handler(request, Responder(loop: self, connectionID: c.id, fd: c.fd))
        c.dispatching = false
        if let r = c.inlineResponse {
            c.inlineResponse = nil
            complete(c, r)
        } else {
            updateInterest(c)
        }
    }

    func complete(_ c: Connection, _ response: HTTPResponse) {
        guard case .inFlight(let head, let pattern) = c.phase else { return }
        shared.observe(pattern, head.method, response.status)
        c.phase = .idle
        queue(c, response, head: head)
    }

    func queue(_ c: Connection, _ response: HTTPResponse, head: HTTPRequestHead?, forceClose: Bool = false) {
        refreshDate()
        let close = forceClose || draining || head.map { !$0.keepAlive } ?? true || (c.peerClosed && !c.parser.hasPartialInput)
        if head == nil { shared.observe("unmatched", "other", response.status) }
        // Bytes already sent are dropped before they can pile up in front of new answers.
        if c.outputOffset >= 65_536 {
            c.output.removeSubrange(0..<c.outputOffset)
            c.outputOffset = 0
        }
        response.serialize(into: &c.output, date: date, close: close, announceKeepAlive: head?.version == .http10,
                           headOnly: head?.method == "HEAD")
        if close { c.closeAfterWrite = true }
        shared.notePending(c.pendingOutput)
    }

    func flush(_ c: Connection) {
        while true {
            guard writeOut(c) else { return }
            // Drained below the low-water mark: answer the requests waiting in the buffer.
            guard c.readPaused, c.pendingOutput <= config.outputLowWater else { break }
            c.readPaused = false
            let before = c.output.count
            process(c)
            guard connections[c.fd] === c else { return }
            if c.output.count == before { break }
        }
        if c.pendingOutput == 0 {
            c.output.removeAll(keepingCapacity: c.output.capacity <= 65_536)
            c.outputOffset = 0
            if c.closeAfterWrite && !c.isClosing {
                if c.peerClosed {
                    closeConnection(c)
                    return
                }
                // Lingering close: stop sending, read and drop until the peer closes, so
                // unread input cannot turn into a reset that destroys the response.
                c.tls?.close()
                shutdown(c.fd, Int32(SHUT_WR))
                c.phase = .closing(since: now)
            }
        }
        if connections[c.fd] === c { updateInterest(c) }
    }

    /// Sends what the transport takes now; false when that closed the connection.
    func writeOut(_ c: Connection) -> Bool {
        while c.outputOffset < c.output.count {
            let result = c.output.withUnsafeBytes { c.transmit(UnsafeRawBufferPointer(rebasing: $0[c.outputOffset...])) }
            switch result {
            case .done(let n):
                c.outputOffset += n
                c.lastActivity = now
            case .wouldBlock:
                return true
            case .closed, .failed:
                closeConnection(c)
                return false
            }
        }
        return true
    }

    func processMailbox() {
        let items = mailbox.withLock { box -> [(fd: Int32, id: UInt64, response: HTTPResponse)] in
            let out = box
            box.removeAll(keepingCapacity: true)
            return out
        }
        for item in items {
            guard let c = connections[item.fd], c.id == item.id else { continue }
            finish(c, item.response)
        }
    }

    /// Sends a late response, then carries on with any pipelined requests.
    func finish(_ c: Connection, _ response: HTTPResponse) {
        complete(c, response)
        process(c)
        flush(c)
        if connections[c.fd] === c, c.peerClosed, !c.isInFlight, c.output.isEmpty { closeConnection(c) }
    }

    func sweep() {
        refreshDate()
        for c in Array(connections.values) {
            switch c.phase {
            case .idle:
                if draining || now - c.lastActivity > UInt64(config.idleTimeout * 1000) {
                    closeConnection(c)
                } else if !c.sawHead && now - c.acceptedAt > UInt64(config.headTimeout * 1000) {
                    // Connected and silent (or stuck in its TLS handshake): SPEC §4 gives it
                    // the head timeout from accept; there is nothing to answer.
                    closeConnection(c)
                }
            case .head(let since):
                if now - since > UInt64(config.headTimeout * 1000) {
                    queue(c, .error(408, "request head not received in time"), head: nil, forceClose: true)
                    flush(c)
                }
            case .body:
                if now - c.lastProgress > UInt64(config.bodyTimeout * 1000) {
                    queue(c, .error(408, "request body stalled"), head: nil, forceClose: true)
                    flush(c)
                }
            case .inFlight:
                break
            case .closing(let since):
                if draining || now - since > 2000 { closeConnection(c) }
            }
        }
    }

    func beginDrain() {
        draining = true
        drainDeadline = now + UInt64(config.drainTimeout * 1000)
        epoll_ctl(epfd, EPOLL_CTL_DEL, listenFD, nil)
        close(listenFD)
        listenFD = -1
        for c in Array(connections.values) where c.output.isEmpty {
            switch c.phase {
            case .idle, .closing: closeConnection(c)
            default: break
            }
        }
    }

    func closeConnection(_ c: Connection) {
        guard connections[c.fd] === c else { return }
        connections[c.fd] = nil
        epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nil)
        c.tls?.close()
        c.tls = nil
        close(c.fd)
        if c.counted { shared.open.subtract(1, ordering: .relaxed) }
    }
}

/// State shared by all loops of one server.
final class ServerShared: Sendable {
    let open = Atomic<Int>(0)
    /// The most unsent output one connection has held (what the high-water mark bounds).
    let peakPending = Atomic<Int>(0)
    /// The certificate and key new connections get; replaced by `reloadTLS`.
    let tls = Mutex<TLSContext?>(nil)
    let observer: (@Sendable (String, String, Int) -> Void)?

    init(observer: (@Sendable (String, String, Int) -> Void)?) { self.observer = observer }

    /// Metric labels come from fixed sets whatever a client sends.
    func observe(_ route: String, _ method: String, _ status: Int) { observer?(route, MetricLabel.method(method), status) }

    func notePending(_ bytes: Int) {
        var seen = peakPending.load(ordering: .relaxed)
        while bytes > seen {
            let (exchanged, current) = peakPending.compareExchange(expected: seen, desired: bytes, ordering: .relaxed)
            if exchanged { return }
            seen = current
        }
    }
}
