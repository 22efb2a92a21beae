import Directory
import Foundation
import HTTPClient
import SyncRules
import TestSupport
import Signing
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

    let environment: [String: String]

    /// `top` adds members to the config's top level (`"events": {...},`), `zendesk` adds
    /// members to abc-energy's zendesk object (`, "max_deactivations": 3`); `beforeStart`
    /// sets the simulator up (faults) before `serve` first starts.
    init(licenceLimit: Int = 25, extraTenant: String = "", top: String = "", zendesk: String = "",
         reconcile: String = #"{"every": "24h"}"#, environment: [String: String] = [:],
         simFaults: String? = nil, serveArguments: [String] = [], beforeStart: (Simulator) throws -> Void = { _ in }) throws {
        self.serveArguments = serveArguments
        sim = try Simulator()
        if let simFaults { try sim.control("/_sim/faults", simFaults) }
        self.environment = environment
        let tokenFile = try folder.write("zendesk-token", Simulator.token)
        let secretFile = try folder.write("webhook-secret", Self.secret)
        let otherFile = try folder.write("other-secret", Self.otherSecret)
        let ops = try folder.write("ops", Self.opsToken)
        let users = try folder.write("users", Self.usersToken)
        config = try folder.write("usersync.json", """
        {"listen": "127.0.0.1:0", "data_dir": "data", \(top)
         "admin_tokens": [
           {"name": "ops", "token_file": "\(ops)", "permissions": ["manage_users", "manage_integrations"]},
           {"name": "abc-users", "token_file": "\(users)", "permissions": ["manage_users"], "tenants": ["abc-energy"]}],
         "tenants": [
          {"id": "abc-energy", "features": ["integrations"], "licence_limit": \(licenceLimit),
           "zendesk": {"enabled": true, "subdomain": "abc-energy", "api_base_url": "\(sim.baseURL)",
             "auth": {"type": "api_token", "email": "\(Simulator.email)", "token_file": "\(tokenFile)"},
             "webhook_secret_file": "\(secretFile)", "roles": ["agent", "admin", "Team Lead"],
             "reconcile": \(reconcile)\(zendesk)}},
          {"id": "other-co", "features": ["integrations"], "licence_limit": 5,
           "zendesk": {"enabled": false, "subdomain": "other-co", "api_base_url": "\(sim.baseURL)",
             "auth": {"type": "api_token", "email": "\(Simulator.email)", "token_file": "\(tokenFile)"},
             "webhook_secret_file": "\(otherFile)", "roles": ["agent"]}}\(extraTenant)]}
        """)
        try beforeStart(sim)
        try start()
    }

    func start() throws {
        serve = try ChildProcess(Products.path("usersync"), ["--config", config, "serve"] + serveArguments,
                                 environment: environment.merging(["USERSYNC_BACKOFF_BASE_MS": "20"]) { a, _ in a }, waitFor: "\"address\":\"")
    }

    var baseURL: String { serve.baseURL }
    var port: Int { serve.port }

    func directory(_ tenant: String = "abc-energy") throws -> TenantDirectory {
        try TenantDirectory(dataDir: folder.path + "/data", tenant: tenant)
    }

    /// Waits until `condition` holds (see TestSupport's `eventually`).
    func eventually(_ timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        try TestSupport.eventually(timeout, condition)
    }

    func waitForImport() throws {
        _ = try eventually { try directory().runs().contains { $0.outcome == .completed } }
    }

    /// A signed Zendesk event body and its headers.
    static func signed(_ body: String, secret: String = secret, at date: Date = Date()) -> (body: [UInt8], headers: [(String, String)]) {
        signed(bytes: Array(body.utf8), secret: secret, at: date)
    }

    static func signed(bytes: [UInt8], secret: String = secret, at date: Date = Date()) -> (body: [UInt8], headers: [(String, String)]) {
        let ts = Timestamp(seconds: Int64(date.timeIntervalSince1970)).iso8601
        return (bytes, [("Content-Type", "application/json"), ("X-Zendesk-Webhook-Signature", ZendeskSignature.sign(secret: secret, timestamp: ts, body: bytes)),
                        ("X-Zendesk-Webhook-Signature-Timestamp", ts)])
    }

    static func event(id: String = UUID().uuidString, type: String, user: String, current: String = "null", role: String = "agent",
                      email: String = "", updatedAt: Date = Date()) -> String {
        let t = Timestamp(seconds: Int64(updatedAt.timeIntervalSince1970)).iso8601
        return #"{"type":"zen:event-type:\#(type)","account_id":12514403,"id":"\#(id)","time":"\#(t)","zendesk_event_version":"2022-06-20","subject":"zen:user:\#(user)","detail":{"created_at":"2026-01-01T00:00:00Z","email":"\#(email)","external_id":"","default_group_id":"0","id":"\#(user)","organization_id":"0","role":"\#(role)","updated_at":"\#(t)"},"event":{"current":\#(current),"previous":null}}"#
    }

    /// A signed webhook POST as raw bytes, for keep-alive connections (`RawClient`).
    static func rawRequest(_ body: String, tenant: String = "abc-energy") -> [UInt8] {
        let s = signed(body)
        var head = "POST /webhooks/zendesk/\(tenant) HTTP/1.1\r\nHost: t\r\nContent-Length: \(s.body.count)\r\n"
        for (k, v) in s.headers { head += "\(k): \(v)\r\n" }
        return Array((head + "\r\n").utf8) + s.body
    }

    func post(_ path: String, body: [UInt8], headers: [(String, String)]) throws -> ClientResponse {
        try http.perform(ClientRequest(method: "POST", url: baseURL + path, headers: headers, body: body))
    }

    func deliver(_ body: String, tenant: String = "abc-energy", secret: String = secret) throws -> ClientResponse {
        let s = Self.signed(body, secret: secret)
        return try post("/webhooks/zendesk/\(tenant)", body: s.body, headers: s.headers)
    }

    /// Runs a `usersync` command against this config as a child process, to its exit.
    func cli(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Products.path("usersync"))
        p.arguments = ["--config", config] + arguments
        let out = Pipe()
        let errPath = folder.path + "/cli-" + UUID().uuidString + ".err"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try err.close()
        let errText = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), errText)
    }

    /// A command's `--json` output, parsed.
    func cliJSON(_ arguments: [String]) throws -> Any {
        let r = try cli(arguments + ["--json"])
        guard r.status == 0 else { throw NSError(domain: "cli", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.err]) }
        return try JSONSerialization.jsonObject(with: Data(r.out.utf8))
    }

    /// abc-energy's zendesk entry of `status --json`.
    func zendeskStatus() throws -> [String: Any] {
        let doc = try cliJSON(["status", "--tenant", "abc-energy"]) as? [String: Any]
        let tenant = (doc?["tenants"] as? [[String: Any]])?.first
        return (tenant?["sources"] as? [[String: Any]])?.first { $0["source"] as? String == "zendesk" } ?? [:]
    }

    /// The simulator's request counters.
    func simStats() throws -> [String: Int] {
        (try JSONSerialization.jsonObject(with: Data(sim.get("/_sim/stats").body)) as? [String: Int]) ?? [:]
    }

    func metrics() throws -> String {
        String(decoding: try http.perform(ClientRequest(url: baseURL + "/metrics")).body, as: UTF8.self)
    }

    /// The local user linked to a source user.
    func user(linkedTo sourceUserID: String) throws -> LocalUser? {
        try directory().users().first { $0.links.contains { $0.sourceUserID == sourceUserID } }?.user
    }

    func api(_ method: String, _ path: String, token: String? = opsToken) throws -> ClientResponse {
        try http.perform(ClientRequest(method: method, url: baseURL + path, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? []))
    }
}
