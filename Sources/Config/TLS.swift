import FoundationEssentials

/// `tls`: the certificate chain and key (PEM) that make `listen` HTTPS (SPEC §3). Both are
/// re-read on SIGHUP; the paths themselves change only on restart.
public struct TLSFiles: Sendable, Equatable {
    public var certFile: String
    public var keyFile: String
}

extension UsersyncConfig {
    /// Reads `tls`, its paths relative to the config file's folder; each must be readable.
    static func parseTLS(_ top: Fields, baseFolder: String) -> TLSFiles? {
        guard let t = top.object("tls") else { return nil }
        defer { t.finish() }
        func file(_ key: String) -> String? {
            guard let raw = t.string(key, required: true) else { return nil }
            guard !raw.isEmpty else {
                t.fail(key, "must name a file")
                return nil
            }
            var path = raw
            if !path.hasPrefix("/") {
                if path.hasPrefix("./") { path.removeFirst(2) }
                path = baseFolder == "." ? path : baseFolder + "/" + path
            }
            guard FileManager.default.isReadableFile(atPath: path) else {
                t.fail(key, "'\(raw)' cannot be read")
                return nil
            }
            return path
        }
        let cert = file("cert_file")
        let key = file("key_file")
        guard let cert, let key else { return nil }
        return TLSFiles(certFile: cert, keyFile: key)
    }
}
