import Foundation
import HTTPClient

/// A temporary folder removed when the value is released.
public final class TemporaryFolder: @unchecked Sendable {
    public let path: String
    public init() {
        path = NSTemporaryDirectory() + "usersync-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func write(_ name: String, _ text: String) throws -> String {
        let p = path + "/" + name
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }
}

/// Where the package's built executables are (next to the test bundle).
public enum Products {
    public static func path(_ name: String) -> String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/\(name)").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
    }

    /// The samples folder of the repository.
    public static var samples: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("samples").path
    }
}

/// A child process that prints "... listening on http://HOST:PORT" when ready; killed on release.
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    public private(set) var baseURL = ""
    public private(set) var port = 0
    private let output = Pipe()
    private let lock = NSLock()
    private var collected = ""

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], waitFor marker: String? = "listening on http://") throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.withLock { self.collected += String(decoding: d, as: UTF8.self) }
        }
        try process.run()
        guard let marker else { return }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = lock.withLock { collected }
            if let r = text.range(of: marker) {
                let rest = text[r.upperBound...].prefix { $0 != " " && $0 != "\n" && $0 != ")" && $0 != "\"" }
                guard rest.contains(":") else { Thread.sleep(forTimeInterval: 0.02); continue }
                baseURL = "http://" + rest
                port = Int(rest.split(separator: ":").last ?? "") ?? 0
                return
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.terminate()
        throw NSError(domain: "ChildProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(executable) did not start: \(lock.withLock { collected })"])
    }

    public var log: String { lock.withLock { collected } }

    public func stop(signal: Int32 = SIGTERM) {
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        output.fileHandleForReading.readabilityHandler = nil
    }
}

/// The Zendesk simulator on a free loopback port, with its control API.
public final class Simulator: @unchecked Sendable {
    public let child: ChildProcess
    public let http = HTTPClient()
    public static let email = "ops@abc-energy.example"
    public static let token = "sim-token-123"

    public init(_ arguments: [String] = ["--users", Products.samples + "/zendesk-users.json"]) throws {
        child = try ChildProcess(Products.path("zendesk-sim"), ["--port", "0", "--loops", "1", "--email", Self.email, "--token", Self.token] + arguments)
    }

    public var baseURL: String { child.baseURL }

    /// The API token's Basic authorization (`email/token:TOKEN`), for calling its API directly.
    public static var basicAuth: String {
        "Basic " + Data("\(email)/token:\(token)".utf8).base64EncodedString()
    }

    @discardableResult
    public func control(_ path: String, _ json: String = "{}") throws -> ClientResponse {
        try http.perform(ClientRequest(method: "POST", url: baseURL + path, headers: [("Content-Type", "application/json")], body: Array(json.utf8)))
    }

    public func get(_ path: String) throws -> ClientResponse {
        try http.perform(ClientRequest(url: baseURL + path))
    }
}

/// Waits until `condition` holds, polling every 20 ms, or gives up after `timeout` seconds:
/// tests wait on conditions, never on fixed sleeps.
public func eventually(_ timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}
