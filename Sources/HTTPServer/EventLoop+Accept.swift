import CLinux
import Glibc

/// Accepting connections: the connection cap, TLS sessions, and running out of descriptors.
extension EventLoop {
    func acceptAll() {
        while true {
            let fd = Socket.accept(listenFD)
            if fd < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE:
                    shedWhileOutOfDescriptors()
                    return
                default:
                    pauseAccepting()
                    return
                }
            }
            Socket.setNoDelay(fd)
            let id = nextID
            nextID += 1
            let full = shared.open.load(ordering: .relaxed) >= config.maxConnections
            if full && config.tls != nil {
                // A 503 would need a handshake first: the cap exists to spare that work.
                close(fd)
                continue
            }
            if full {
                let c = Connection(fd: fd, id: id, limits: limits, now: now, counted: false)
                connections[fd] = c
                setInterest(c, EPOLLIN.rawValue, add: true)
                refreshDate()
                let r = HTTPResponse.error(503, "too many connections", headers: [("Retry-After", String(config.retryAfterSeconds))])
                r.serialize(into: &c.output, date: date, close: true, headOnly: false)
                c.closeAfterWrite = true
                flush(c)
                continue
            }
            var session: TLSSession?
            if config.tls != nil {
                session = shared.tls.withLock { $0?.session(fd: fd) }
                guard session != nil else {
                    close(fd)
                    continue
                }
            }
            shared.open.add(1, ordering: .relaxed)
            let c = Connection(fd: fd, id: id, limits: limits, now: now, counted: true)
            c.tls = session
            connections[fd] = c
            setInterest(c, EPOLLIN.rawValue, add: true)
        }
    }

    /// Out of descriptors: pending connections are accepted on the spare descriptor and
    /// closed at once (their clients learn now rather than time out), then accepting
    /// pauses briefly. A level-triggered listener left readable would otherwise wake
    /// epoll_wait in a busy loop.
    func shedWhileOutOfDescriptors() {
        while spareFD >= 0 {
            close(spareFD)
            let fd = Socket.accept(listenFD)
            if fd >= 0 { close(fd) }
            spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if fd < 0 { break }
        }
        pauseAccepting()
    }

    func pauseAccepting() {
        var ev = epoll_event()
        ev.data.fd = listenFD
        epoll_ctl(epfd, EPOLL_CTL_MOD, listenFD, &ev)
        acceptPausedUntil = now + 100
    }

    func resumeAccepting() {
        acceptPausedUntil = 0
        if spareFD < 0 { spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC) }
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue
        ev.data.fd = listenFD
        epoll_ctl(epfd, EPOLL_CTL_MOD, listenFD, &ev)
    }

    /// Moves a TLS handshake on; the head timeout (from accept) bounds it in `sweep`.
    func advanceHandshake(_ c: Connection) {
        guard let tls = c.tls else { return }
        switch tls.handshake() {
        case .done:
            updateInterest(c)
            onReadable(c)
        case .wantRead: setInterest(c, EPOLLIN.rawValue)
        case .wantWrite: setInterest(c, EPOLLOUT.rawValue)
        case .failed: closeConnection(c)
        }
    }
}
