/// The server's limits and timeouts. Defaults are SPEC §4's; every one is configurable.
public struct ServerConfiguration: Sendable {
    /// Address to bind (IPv4 dotted quad) and port; port 0 picks a free one.
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// Event loops (threads), one per core by default.
    public var loops: Int = 0
    /// Request line + headers larger than this get 431.
    public var maxHeadBytes: Int = 16 * 1024
    /// More header lines than this get 431.
    public var maxHeaderCount: Int = 100
    /// A body larger than this gets 413 (exactly this many bytes is allowed).
    public var maxBodyBytes: Int = 1024 * 1024
    /// The head must arrive within this many seconds of its first byte (else 408 and close).
    public var headTimeout: Double = 10
    /// A body must make progress at least this often (else 408 and close).
    public var bodyTimeout: Double = 10
    /// An idle keep-alive connection closes after this long.
    public var idleTimeout: Double = 60
    /// Open connections beyond this get 503 and are closed.
    public var maxConnections: Int = 1024
    /// How long a graceful stop waits for in-flight requests.
    public var drainTimeout: Double = 10
    /// `Retry-After` seconds sent with 503 answers (Zendesk retries only when < 60).
    public var retryAfterSeconds: Int = 5

    public init() {}
}
