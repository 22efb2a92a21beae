import Foundation
import HTTPClient

/// The Intercom simulator on a free loopback port, with its control API.
public final class IntercomSimulator: @unchecked Sendable {
    public let child: ChildProcess
    public let http = HTTPClient()
    public static let token = "sim-intercom-token"
    public static let clientID = "usersync-intercom"
    public static let clientSecret = "sim-intercom-client-secret"

    public init(_ arguments: [String] = ["--admins", Products.samples + "/intercom-admins.json"]) throws {
        child = try ChildProcess(Products.path("intercom-sim"), [
            "--port", "0", "--loops", "1", "--token", Self.token, "--client-id", Self.clientID,
            "--client-secret", Self.clientSecret, "--retry-delay-ms", "100",
        ] + arguments)
    }

    public var baseURL: String { child.baseURL }

    @discardableResult
    public func control(_ path: String, _ json: String = "{}") throws -> ClientResponse {
        try http.perform(ClientRequest(method: "POST", url: baseURL + path, headers: [("Content-Type", "application/json")], body: Array(json.utf8)))
    }

    public func get(_ path: String) throws -> ClientResponse {
        try http.perform(ClientRequest(url: baseURL + path))
    }

    /// The simulator's counters (`GET /_sim/stats`).
    public func stats() throws -> [String: Int] {
        let body = try get("/_sim/stats").body
        return (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Int]) ?? [:]
    }
}
