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
    /// A new connection must deliver its first head (and finish its TLS handshake) within
    /// this many seconds of being accepted, and a later head within this many seconds of
    /// its first byte (else 408, or a plain close when nothing arrived).
    public var headTimeout: Double = 10
    /// A body must make progress at least this often (else 408 and close).
    public var bodyTimeout: Double = 10
    /// An idle keep-alive connection closes after this long.
    public var idleTimeout: Double = 60
    /// Open connections beyond this get 503 and are closed.
    public var maxConnections: Int = 1024
    /// How long a graceful stop waits for in-flight requests.
    public var drainTimeout: Double = 10
    /// A connection whose unsent output reaches this many bytes is not read any further
    /// (a client that pipelines and never reads), until the output drains below
    /// `outputLowWater`.
    public var outputHighWater: Int = 256 * 1024
    public var outputLowWater: Int = 64 * 1024
    /// Certificate and key (PEM) to speak HTTPS on the port; nil for plain HTTP.
    public var tls: TLS?
    /// `Retry-After` seconds sent with 503 answers (Zendesk retries only when < 60).
    public var retryAfterSeconds: Int = 5

    public init() {}

    /// Where the certificate chain and private key are; re-read by `HTTPServer.reloadTLS()`.
    public struct TLS: Sendable, Equatable {
        public var certificateFile: String
        public var keyFile: String
        public init(certificateFile: String, keyFile: String) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }
}
