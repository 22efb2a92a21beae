import CTLS

/// Why a certificate and key could not be put in service (at start or on `reloadTLS`).
public struct TLSSetupError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The certificate file is missing or not a PEM certificate chain.
        case certificate
        /// The key file is missing or not a PEM private key.
        case key
        /// The key does not belong to the certificate.
        case mismatch
        /// libssl refused a setting (a library or build problem, not the files).
        case library
    }
    public var kind: Kind
    public var path: String?
    /// OpenSSL's own explanation.
    public var detail: String

    public var description: String {
        switch kind {
        case .certificate: "tls: cert_file '\(path ?? "")': \(detail)"
        case .key: "tls: key_file '\(path ?? "")': \(detail)"
        case .mismatch: "tls: key_file '\(path ?? "")' does not match the certificate: \(detail)"
        case .library: "tls: \(detail)"
        }
    }
}

/// One certificate and key loaded into an `SSL_CTX`: TLS 1.2–1.3, ALPN `http/1.1`.
/// Sessions hold their own reference to it, so a reload can replace it while they run.
final class TLSContext: @unchecked Sendable {
    private let ctx: OpaquePointer

    init(_ files: ServerConfiguration.TLS) throws(TLSSetupError) {
        guard let made = SSL_CTX_new(TLS_server_method()) else { throw Self.error(.library, nil) }
        ctx = made
        guard ctls_set_protocol_range(ctx) == 1 else { throw Self.error(.library, nil) }
        ctls_set_modes(ctx)
        ctls_set_alpn_http11(ctx)
        // Key first: a certificate loaded after a key that does not fit drops the key, so a
        // mismatch is reported as one by the check below rather than as a bad key file.
        guard SSL_CTX_use_PrivateKey_file(ctx, files.keyFile, SSL_FILETYPE_PEM) == 1 else { throw Self.error(.key, files.keyFile) }
        guard SSL_CTX_use_certificate_chain_file(ctx, files.certificateFile) == 1 else {
            throw Self.error(.certificate, files.certificateFile)
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else { throw Self.error(.mismatch, files.keyFile) }
    }

    deinit { SSL_CTX_free(ctx) }

    /// A server-side session over the accepted socket `fd`, or nil when libssl cannot make one.
    func session(fd: Int32) -> TLSSession? {
        ERR_clear_error()
        guard let ssl = SSL_new(ctx) else {
            ERR_clear_error()
            return nil
        }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            ERR_clear_error()
            return nil
        }
        SSL_set_accept_state(ssl)
        return TLSSession(ssl)
    }

    /// Drains libssl's error queue into one line.
    static func error(_ kind: TLSSetupError.Kind, _ path: String?) -> TLSSetupError {
        var parts: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while case let code = ERR_get_error(), code != 0 {
            ERR_error_string_n(code, &buffer, buffer.count)
            parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSSetupError(kind: kind, path: path, detail: parts.isEmpty ? "refused by libssl" : parts.joined(separator: "; "))
    }
}

/// The TLS side of one connection: the handshake, then records in and out. Every call
/// clears the thread's error queue first, as `SSL_get_error` requires, and after a
/// failure, so failed handshakes leave nothing behind.
final class TLSSession {
    enum Step { case done, wantRead, wantWrite, failed }

    private let ssl: OpaquePointer
    private(set) var handshaking = true
    /// A read needs the socket writable (a TLS 1.3 key update answer).
    var readWantsWrite = false
    /// A write needs the socket readable.
    var writeWantsRead = false

    init(_ ssl: OpaquePointer) { self.ssl = ssl }

    deinit { SSL_free(ssl) }

    func handshake() -> Step {
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            handshaking = false
            return .done
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        default:
            ERR_clear_error()
            return .failed
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Connection.Transfer {
        ERR_clear_error()
        readWantsWrite = false
        let rc = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if rc > 0 { return .done(Int(rc)) }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: return .wouldBlock
        case SSL_ERROR_WANT_WRITE:
            readWantsWrite = true
            return .wouldBlock
        case SSL_ERROR_ZERO_RETURN: return .closed
        default:
            ERR_clear_error()
            return .failed
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Connection.Transfer {
        ERR_clear_error()
        writeWantsRead = false
        let rc = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
        if rc > 0 { return .done(Int(rc)) }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_WRITE: return .wouldBlock
        case SSL_ERROR_WANT_READ:
            writeWantsRead = true
            return .wouldBlock
        default:
            ERR_clear_error()
            return .failed
        }
    }

    /// Plaintext already decrypted and waiting inside libssl (epoll cannot see it).
    var hasBufferedInput: Bool { SSL_pending(ssl) > 0 }

    /// Sends close_notify if it fits in the socket now; the socket closes either way.
    func close() {
        guard !handshaking else { return }
        ERR_clear_error()
        if SSL_shutdown(ssl) < 0 { ERR_clear_error() }
    }
}
