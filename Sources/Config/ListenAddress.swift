import Glibc
import SyncRules

extension ListenAddress {
    /// What `init?(_:)` takes, for messages that refuse something else.
    public static let form = "HOST:PORT with an IPv4 address or localhost as the host"

    /// `HOST:PORT`, as `listen`, `admin_listen` and `serve --listen` take it: the host an
    /// IPv4 address or `localhost` (what the receiver binds; empty means every address).
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), case let digits = text[text.index(after: colon)...], digits.isASCIIDigits,
              let port = Int(digits), (0...65535).contains(port) else { return nil }
        let host = String(text[..<colon])
        guard host.isEmpty || host == "localhost" || Self.isIPv4(host) else { return nil }
        self.init(host: host.isEmpty ? "0.0.0.0" : host, port: port)
    }

    private static func isIPv4(_ host: String) -> Bool {
        var addr = in_addr()
        return inet_pton(AF_INET, host, &addr) == 1
    }

    /// Whether two addresses could not both be bound: the same port (not 0, which picks a
    /// free one) on the same host, or on every address and any host.
    public func clashes(with other: ListenAddress) -> Bool {
        guard port != 0, port == other.port else { return false }
        let a = host == "localhost" ? "127.0.0.1" : host, b = other.host == "localhost" ? "127.0.0.1" : other.host
        return a == b || a == "0.0.0.0" || b == "0.0.0.0"
    }
}
