extension ListenAddress {
    /// `HOST:PORT` (an empty host means every address), as `listen` and `serve --listen` take it.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        let host = String(text[..<colon])
        self.init(host: host.isEmpty ? "0.0.0.0" : host, port: port)
    }
}
