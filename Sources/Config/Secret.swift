import FoundationEssentials
import SyncRules

/// A secret given by reference, never inline: an environment variable or a file.
/// Resolved when used, so a config can be checked where the secrets are not present.
public enum SecretRef: Sendable, Equatable, CustomStringConvertible {
    case env(String)
    case file(String)

    /// Reads the secret. The error names the reference, never the value.
    public func resolve() throws -> String {
        switch self {
        case .env(let name):
            guard let v = ProcessInfo.processInfo.environment[name] else {
                throw SecretError(message: "environment variable \(name) is not set")
            }
            guard !v.isEmpty else { throw SecretError(message: "environment variable \(name) is empty") }
            return v
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SecretError(message: "secret file \(path) cannot be read")
            }
            let v = String(decoding: data, as: UTF8.self).trimmedSpaces
            guard !v.isEmpty else { throw SecretError(message: "secret file \(path) is empty") }
            return v
        }
    }

    public var description: String {
        switch self {
        case .env(let n): "env:\(n)"
        case .file(let p): "file:\(p)"
        }
    }
}

public struct SecretError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

extension TenantConfig {
    /// The secrets its enabled sources need (credentials, webhook secrets), by their path
    /// in the file.
    public var secretReferences: [(path: String, ref: SecretRef)] {
        var out: [(path: String, ref: SecretRef)] = []
        for s in sources where s.enabled {
            for (key, ref) in s.auth.secrets { out.append(("tenant \(id): \(s.kind.rawValue).\(key)", ref)) }
            if let w = s.webhookSecret { out.append(("tenant \(id): \(s.kind.rawValue).webhook_secret", w)) }
        }
        return out
    }

    /// A digest of what its secrets read as now (kept by a runtime instead of the secrets
    /// themselves): a reload that finds it changed (a rotated secret file) rebuilds the
    /// tenant, as a changed section does. Stable within a process only.
    public func secretsDigest() -> Int {
        var h = Hasher()
        for s in secretReferences { h.combine((try? s.ref.resolve()) ?? "") }
        return h.finalize()
    }
}

extension UsersyncConfig {
    /// The secrets that cannot be read now, one problem each (the reference, never a
    /// value), of `tenants` (all by default) and the admin tokens: a file with any is
    /// invalid for `config check`, and a reload refuses it.
    public func unreadableSecrets(of tenants: [TenantConfig]? = nil) -> [String] {
        var refs = (tenants ?? self.tenants).flatMap(\.secretReferences)
        for (i, tok) in adminTokens.enumerated() { refs.append(("admin_tokens[\(i)].token", tok.token)) }
        return refs.compactMap { s in
            do { _ = try s.ref.resolve(); return nil } catch { return "\(s.path): \(error)" }
        }
    }
}
