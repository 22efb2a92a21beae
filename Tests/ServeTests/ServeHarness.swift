import Directory
import Foundation
import HTTPClient
import SyncRules
import TestSupport
import Webhooks

/// `usersync serve` as a child process on a free port, next to a simulator, with a
/// data directory the test can read.
final class ServeHarness: @unchecked Sendable {
    let folder = TemporaryFolder()
    let sim: Simulator
    var serve: ChildProcess!
    let http = HTTPClient()
    let config: String
    /// Extra `serve` arguments, such as `--tenants`.
    let serveArguments: [String]
    static let secret = "whsec-abc-energy"
    static let otherSecret = "whsec-other-co"
    static let opsToken = "ops-token-1"
    static let usersToken = "users-token-abc"

    init(licenceLimit: Int = 25, extraTenant: String = "", serveArguments: [String] = []) throws {
        self.serveArguments = serveArguments
        sim = try Simulator()
        let tokenFile = try folder.write("zendesk-token", Simulator.token)
        let secretFile = try folder.write("webhook-secret", Self.secret)
        let otherFile = try folder.write("other-secret", Self.otherSecret)
        let ops = try folder.write("ops", Self.opsToken)
        let users = try folder.write("users", Self.usersToken)
        config = try folder.write("usersync.json", """
        {"listen": "127.0.0.1:0", "data_dir": "data",
         "admin_tokens": [
           {"name": "ops", "token_file": "\(ops)", "permissions": ["manage_users", "manage_integrations"]},
           {"name": "abc-users", "token_file": "\(users)", "permissions": ["manage_users"], "tenants": ["abc-energy"]}],
         "tenants": [
          {"id": "abc-energy", "features": ["integrations"], "licence_limit": \(licenceLimit),
           "zendesk": {"enabled": true, "subdomain": "abc-energy", "api_base_url": "\(sim.baseURL)",
             "auth": {"type": "api_token", "email": "\(Simulator.email)", "token_file": "\(tokenFile)"},
             "webhook_secret_file": "\(secretFile)", "roles": ["agent", "admin", "Team Lead"],
             "reconcile": {"every": "24h"}}},
          {"id": "other-co", "features": ["integrations"], "licence_limit": 5,
           "zendesk": {"enabled": false, "subdomain": "other-co", "api_base_url": "\(sim.baseURL)",
             "auth": {"type": "api_token", "email": "\(Simulator.email)", "token_file": "\(tokenFile)"},
             "webhook_secret_file": "\(otherFile)", "roles": ["agent"]}}\(extraTenant)]}
        """)
        try start()
    }

    func start() throws {
        serve = try ChildProcess(Products.path("usersync"), ["--config", config, "serve"] + serveArguments,
                                 environment: ["USERSYNC_BACKOFF_BASE_MS": "20"], waitFor: "\"address\":\"")
    }

    var baseURL: String { serve.baseURL }
    var port: Int { serve.port }

    func directory(_ tenant: String = "abc-energy") throws -> TenantDirectory {
        try TenantDirectory(dataDir: folder.path + "/data", tenant: tenant)
    }

    /// Waits until `condition` holds (polling), or fails after `timeout` seconds.
    func eventually(_ timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return try condition()
    }

    func waitForImport() throws {
        _ = try eventually { try directory().runs().contains { $0.outcome == .completed } }
    }

    /// A signed Zendesk event body and its headers.
    static func signed(_ body: String, secret: String = secret, at date: Date = Date()) -> (body: [UInt8], headers: [(String, String)]) {
        let ts = Timestamp(seconds: Int64(date.timeIntervalSince1970)).iso8601
        let bytes = Array(body.utf8)
        return (bytes, [("Content-Type", "application/json"), ("X-Zendesk-Webhook-Signature", WebhookSignature.sign(secret: secret, timestamp: ts, body: bytes)),
                        ("X-Zendesk-Webhook-Signature-Timestamp", ts)])
    }

    static func event(id: String = UUID().uuidString, type: String, user: String, current: String = "null", role: String = "agent",
                      email: String = "", updatedAt: Date = Date()) -> String {
        let t = Timestamp(seconds: Int64(updatedAt.timeIntervalSince1970)).iso8601
        return #"{"type":"zen:event-type:\#(type)","account_id":12514403,"id":"\#(id)","time":"\#(t)","zendesk_event_version":"2022-06-20","subject":"zen:user:\#(user)","detail":{"created_at":"2026-01-01T00:00:00Z","email":"\#(email)","external_id":"","default_group_id":"0","id":"\#(user)","organization_id":"0","role":"\#(role)","updated_at":"\#(t)"},"event":{"current":\#(current),"previous":null}}"#
    }

    func post(_ path: String, body: [UInt8], headers: [(String, String)]) throws -> ClientResponse {
        try http.perform(ClientRequest(method: "POST", url: baseURL + path, headers: headers, body: body))
    }

    func deliver(_ body: String, tenant: String = "abc-energy", secret: String = secret) throws -> ClientResponse {
        let s = Self.signed(body, secret: secret)
        return try post("/webhooks/zendesk/\(tenant)", body: s.body, headers: s.headers)
    }

    func api(_ method: String, _ path: String, token: String? = opsToken) throws -> ClientResponse {
        try http.perform(ClientRequest(method: method, url: baseURL + path, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? []))
    }
}
