import Config
import Desks
import Foundation
import SyncRules
import Testing

/// Each config error is explained with its path; valid files load with their defaults.
@Suite struct ConfigTests {
    nonisolated(unsafe) static let valid: [String: Any] = [
        "listen": "127.0.0.1:8080",
        "data_dir": "/tmp/usersync-data",
        "admin_tokens": [["name": "ops", "token_env": "OPS", "permissions": ["manage_users", "manage_integrations"]]],
        "tenants": [[
            "id": "abc-energy", "features": ["integrations"], "licence_limit": 25,
            "zendesk": [
                "enabled": true, "subdomain": "abc-energy", "api_base_url": "http://127.0.0.1:9100",
                "auth": ["type": "api_token", "email": "ops@abc-energy.example", "token_env": "ABC_ZENDESK_TOKEN"],
                "webhook_secret_env": "ABC_ZENDESK_WEBHOOK_SECRET", "roles": ["agent", "admin", "Team Lead"],
                "primary_identifier": NSNull(), "reconcile": ["every": "24h", "at": "02:00", "incremental_every": "15m"],
                "max_deactivations": NSNull(),
            ],
            "intercom": ["enabled": false, "region": "eu", "auth": ["type": "access_token", "token_env": "IC"],
                         "webhook_secret_env": "IC_SECRET", "reconcile": ["every": "6h"]],
        ]],
    ]

    func load(_ change: (inout [String: Any], inout [String: Any], inout [String: Any]) -> Void) -> Result<UsersyncConfig, ConfigError> {
        var root = Self.valid
        var tenant = (root["tenants"] as! [[String: Any]])[0]
        var zendesk = tenant["zendesk"] as! [String: Any]
        change(&root, &tenant, &zendesk)
        tenant["zendesk"] = zendesk
        root["tenants"] = [tenant]
        let data = try! JSONSerialization.data(withJSONObject: root)
        return Result { try UsersyncConfig.parse(data, desks: DeskRegistry.all) }.mapError { $0 as! ConfigError }
    }

    func problems(_ change: (inout [String: Any], inout [String: Any], inout [String: Any]) -> Void) -> [String] {
        switch load(change) {
        case .success: return []
        case .failure(let e): return e.problems
        }
    }

    @Test func theSpecExampleLoads() throws {
        let c = try load { _, _, _ in }.get()
        #expect(c.tenants[0].zendeskOptions?.roles == ["agent", "admin", "Team Lead"])
        #expect(c.tenants[0].source(.zendesk)?.reconcile == ReconcileSchedule(every: 86_400, at: 120, incrementalEvery: 900))
        #expect(c.tenants[0].source(.zendesk)?.auth == .apiToken(email: "ops@abc-energy.example", token: .env("ABC_ZENDESK_TOKEN")))
        #expect(c.tenants[0].source(.intercom)?.apiBaseURL == "https://api.eu.intercom.io")
        #expect(c.webhookTolerance == 3600)
        #expect(c.http.maxBodyBytes == 1_048_576)
        #expect(c.adminTokens[0].permissions == [.manageUsers, .manageIntegrations])
    }

    @Test func fullZendeskURLIsReducedToTheSubdomain() throws {
        let c = try load { _, _, z in z["subdomain"] = "https://abc-energy.zendesk.com/" }.get()
        #expect(c.tenants[0].zendeskOptions?.subdomain == "abc-energy")
        let d = try load { _, _, z in z.removeValue(forKey: "api_base_url") }.get()
        #expect(d.tenants[0].source(.zendesk)?.apiBaseURL == "https://abc-energy.zendesk.com")
    }

    @Test func invalidSubdomainNamesTheField() {
        #expect(problems { _, _, z in z["subdomain"] = "abc energy" }
                == ["tenant abc-energy: zendesk.subdomain: 'abc energy' is not a valid subdomain"])
    }

    @Test func integrationsFeatureIsRequiredToEnableASource() {
        let p = problems { _, t, _ in t["features"] = [] }
        #expect(p.count == 1 && p[0].hasPrefix("tenant abc-energy: zendesk.enabled:") && p[0].contains("integrations"))
        #expect(problems { _, t, z in t["features"] = []; z["enabled"] = false }.isEmpty)
    }

    @Test func rolesMustNotBeEmptyAndNeverEndUsers() {
        #expect(problems { _, _, z in z["roles"] = [] }.first?.contains("zendesk.roles: select at least one role") == true)
        #expect(problems { _, _, z in z["roles"] = ["end-user"] }.first?.contains("end-users are never imported") == true)
        #expect(problems { _, _, z in z["roles"] = ["agent", ""] }.first?.contains("zendesk.roles: a role must not be empty") == true)
        #expect(problems { _, _, z in z.removeValue(forKey: "roles") }.first?.contains("zendesk.roles: is required") == true)
        // A custom role by id may be a JSON number, as the API gives it; anything else one error.
        let byID = try? load { _, _, z in z["roles"] = ["agent", 360001] }.get()
        #expect(byID?.tenants[0].zendeskOptions?.roles == ["agent", "360001"])
        #expect(problems { _, _, z in z["roles"] = [1.5] }
            == ["tenant abc-energy: zendesk.roles: must be a list of strings or whole numbers"])
    }

    @Test func inlineSecretsAreRefused() {
        let p = problems { _, _, z in z["auth"] = ["type": "api_token", "email": "a@b.c", "token": "s3cr3t"] }
        #expect(p.contains { $0.contains("zendesk.auth.token: inline secrets are not accepted") })
        #expect(!p.joined().contains("s3cr3t"))
        #expect(problems { _, _, z in z["webhook_secret"] = "x" }.contains { $0.contains("zendesk.webhook_secret: inline secrets") })
        #expect(problems { r, _, _ in r["admin_tokens"] = [["name": "ops", "token": "x"]] }.contains { $0.hasPrefix("admin_tokens[0].token: inline") })
    }

    @Test func otherErrorsEachNameTheirPath() {
        let cases: [((inout [String: Any], inout [String: Any], inout [String: Any]) -> Void, String)] = [
            ({ _, _, z in z["primary_identifier"] = "phone" }, "tenant abc-energy: zendesk.primary_identifier: 'phone' is not an identifier"),
            ({ _, _, z in z["reconcile"] = ["every": "daily"] }, "tenant abc-energy: zendesk.reconcile.every: 'daily' is not a duration"),
            ({ _, _, z in z["reconcile"] = ["at": "2am"] }, "tenant abc-energy: zendesk.reconcile.at: '2am' is not a time HH:MM"),
            ({ _, _, z in z["auth"] = ["type": "password"] }, "tenant abc-energy: zendesk.auth.type: 'password' is not an auth type"),
            ({ _, _, z in z["api_base_url"] = "ftp://x" }, "tenant abc-energy: zendesk.api_base_url: 'ftp://x' is not an http(s) URL"),
            ({ _, _, z in z["max_deactivations"] = -1 }, "tenant abc-energy: zendesk.max_deactivations: must be at least 0"),
            ({ _, t, _ in t["licence_limit"] = "ten" }, "tenant abc-energy: licence_limit: must be a whole number"),
            ({ _, t, _ in t.removeValue(forKey: "licence_limit") }, "tenant abc-energy: licence_limit: is required"),
            ({ _, t, _ in t["id"] = "ABC Energy" }, "tenants[0]: id: 'ABC Energy' is not a valid tenant id"),
            ({ r, _, _ in r["listen"] = "nowhere" }, "listen: 'nowhere' is not HOST:PORT"),
            ({ r, _, _ in r["admin_tokens"] = [["name": "x", "token_env": "T", "permissions": ["root"]]] }, "admin_tokens[0].permissions: 'root' is not a permission"),
            ({ _, t, _ in t["intercom"] = ["roles": ["agent"], "auth": ["token_env": "X"]] }, "tenant abc-energy: intercom.roles: Intercom imports workspace admins"),
            ({ _, t, _ in t["intercom"] = ["region": "mars", "auth": ["token_env": "X"]] }, "tenant abc-energy: intercom.region: 'mars' is not a region"),
        ]
        for (change, expected) in cases {
            let p = problems(change)
            #expect(p.contains { $0.hasPrefix(expected) }, "expected \(expected), got \(p)")
        }
    }

    @Test func notJSONAndNoTenantsAreErrors() {
        #expect(throws: ConfigError.self) { try UsersyncConfig.parse(Data("{".utf8), desks: DeskRegistry.all) }
        #expect { try UsersyncConfig.parse(Data("{\"tenants\": []}".utf8), desks: DeskRegistry.all) } throws: {
            ($0 as? ConfigError)?.problems == ["tenants: at least one tenant is required"]
        }
    }

    @Test func unknownKeysAreWarningsNotErrors() throws {
        let c = try load { _, _, z in z["colour"] = "blue" }.get()
        #expect(c.warnings == ["tenant abc-energy: zendesk.colour: unknown key, ignored"])
    }

    @Test func secretsResolveFromFilesAndNeverShowTheirValue() throws {
        let path = NSTemporaryDirectory() + "secret-\(UUID().uuidString)"
        try "top-secret\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SecretRef.file(path).resolve() == "top-secret")
        #expect(throws: SecretError.self) { try SecretRef.env("USERSYNC_SURELY_UNSET_VAR").resolve() }
    }
}

extension TenantConfig {
    var zendeskOptions: ZendeskDesk.Options? { source(.zendesk)?.options(as: ZendeskDesk.Options.self) }
}
