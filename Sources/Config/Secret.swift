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
            guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
                throw SecretError(message: "environment variable \(name) is not set")
            }
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
