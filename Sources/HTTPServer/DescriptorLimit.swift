import Glibc

extension HTTPServer {
    /// Raises the soft `RLIMIT_NOFILE` so `connections` client sockets plus `headroom`
    /// (listeners, databases, logs, outbound calls) fit, up to the hard limit; it never
    /// lowers it. Returns the soft limit before and after, for the log.
    @discardableResult
    public static func raiseDescriptorLimit(toFit connections: Int, headroom: Int = 256) -> (before: Int, after: Int) {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (-1, -1) }
        let before = limit.rlim_cur
        let wanted = rlim_t(max(0, connections) + max(0, headroom))
        guard before != rlim_t.max, before < wanted else { return (Self.count(before), Self.count(before)) }
        limit.rlim_cur = limit.rlim_max == rlim_t.max ? wanted : min(wanted, limit.rlim_max)
        guard setrlimit(resource, &limit) == 0 else { return (Self.count(before), Self.count(before)) }
        return (Self.count(before), Self.count(limit.rlim_cur))
    }

    private static func count(_ value: rlim_t) -> Int { value == rlim_t.max ? Int.max : Int(clamping: value) }
}
