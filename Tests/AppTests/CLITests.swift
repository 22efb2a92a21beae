import App
import Foundation
import Testing

/// The CLI end to end, in process, on a real data directory: output, JSON shape, exit codes.
@Suite struct CLITests {
    let folder: String
    let config: String

    init() throws {
        folder = NSTemporaryDirectory() + "usersync-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "tok\n".write(toFile: folder + "/token", atomically: true, encoding: .utf8)
        config = folder + "/usersync.json"
        try """
        {"data_dir": "data", "tenants": [{"id": "abc-energy", "features": ["integrations"], "licence_limit": 1,
          "zendesk": {"enabled": true, "subdomain": "abc-energy", "api_base_url": "http://127.0.0.1:9",
            "auth": {"type": "api_token", "email": "ops@abc.example", "token_file": "\(folder)/token"},
            "roles": ["agent"]}}]}
        """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    func run(_ args: String...) async -> (Int32, String, String) {
        let console = Console(capture: true)
        let code = await UsersyncCLI.run(["--config", config] + args, console: console)
        return (code, console.output, console.errors)
    }

    @Test func configCheckPassesAndReportsBadFilesWithExitTwo() async throws {
        #expect(await run("config", "check").0 == 0)
        try "{\"tenants\": [{\"id\": \"x\", \"licence_limit\": 1, \"zendesk\": {\"subdomain\": \"a b\", \"auth\": {\"type\": \"api_token\", \"email\": \"a@b\", \"token_env\": \"Z\"}}}]}"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let (code, _, err) = await run("config", "check")
        #expect(code == 2)
        #expect(err.contains("tenant x: zendesk.subdomain: 'a b' is not a valid subdomain"))
    }

    @Test func malformedCountsAndStrayWordsAreUsageErrors() async throws {
        #expect(await run("events", "list", "--limit", "x").0 == 2)
        #expect(await run("audit", "--limit", "-1").0 == 2)
        let (code, _, err) = await run("users", "list", "extra")
        #expect(code == 2)
        #expect(err.contains("unexpected argument 'extra'"))
        #expect(await run("events", "list", "--limit", "5").0 == 0)
        let (connect, _, why) = await run("zendesk", "connect")
        #expect(connect == 2, "an api_token source has nothing to connect")
        #expect(why.contains("auth.type is not 'oauth'"))
    }

    @Test func usersAddListActivateWithLicenceLimit() async throws {
        #expect(await run("users", "add", "--name", "Ann Lee", "--email", "ann@x.com").0 == 0)
        #expect(await run("users", "add", "--name", "Bob", "--email", "bob@x.com", "--username", "bob").0 == 0)
        #expect(await run("users", "add", "--name", " ", "--email", "c@x.com").0 == 2, "an empty name is a usage error")
        #expect(await run("users", "activate", "1").0 == 0)
        let (code, _, err) = await run("users", "activate", "2")
        #expect(code == 1)
        #expect(err.contains("no licence seat is free (1 of 1 in use)"))
        let (_, out, _) = await run("users", "list", "--json")
        let users = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]])
        #expect(users.count == 2)
        for key in ["id", "name", "email", "username", "external_id", "status", "origin", "deactivated_by", "reason", "links"] {
            #expect(users[0].keys.contains(key), "missing \(key)")
        }
        #expect(users[0]["status"] as? String == "active")
        #expect(users[1]["status"] as? String == "pending")
        let (_, pending, _) = await run("users", "list", "--status", "pending")
        #expect(pending.contains("Bob") && !pending.contains("Ann Lee"))
    }

    @Test func deactivateAuditAndResolve() async throws {
        _ = await run("users", "add", "--name", "Ann", "--email", "Ann@x.com")
        #expect(await run("users", "deactivate", "--reason", "left", "1").0 == 0)
        let (_, audit, _) = await run("audit", "--user", "1", "--json")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(audit.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["action"] as? String } == ["created", "deactivated"])
        let (code, out, _) = await run("agents", "resolve", "--email", "ann@x.com")
        #expect(code == 0 && out.contains("user 1"))
        #expect(await run("agents", "resolve", "--source-id", "999").0 == 1)
    }

    @Test func usageErrorsExitTwoAndHelpExitsZero() async {
        #expect(await run("users", "frobnicate").0 == 2)
        #expect(await run("users", "list", "--bogus").0 == 2)
        #expect(await run("nonsense").0 == 2)
        #expect(await run("users", "activate", "abc").0 == 2)
        #expect(await run("users", "--help").0 == 0)
        #expect(await run("--help").0 == 0)
        #expect(await run("users", "list", "--tenant", "nope").0 == 2)
    }

    @Test func statusJSONHasPerSourceFields() async throws {
        let (code, out, _) = await run("status", "--json")
        #expect(code == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let tenants = try #require(root["tenants"] as? [[String: Any]])
        let source = try #require((tenants[0]["sources"] as? [[String: Any]])?.first)
        for key in ["source", "enabled", "auth", "last_event_at", "backlog", "last_run", "conflicts", "held_deactivations"] {
            #expect(source.keys.contains(key), "missing \(key)")
        }
    }
}
