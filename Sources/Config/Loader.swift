import FoundationEssentials
import JSON
import SyncRules

extension UsersyncConfig {
    /// Loads and validates the file at `path`. Relative paths in it are relative to the file's folder.
    public static func load(path: String) throws -> UsersyncConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(problems: ["\(path): cannot read the config file"])
        }
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        return try parse(data, baseFolder: folder.isEmpty ? "/" : folder)
    }

    public static func parse(_ data: Data, baseFolder: String = ".") throws -> UsersyncConfig {
        let root: JSONValue
        do {
            root = try JSONValue.parse(Array(data))
        } catch {
            throw ConfigError(problems: ["config is not valid JSON: \(error)"])
        }
        guard let object = Fields.members(root) else { throw ConfigError(problems: ["config must be a JSON object"]) }
        let report = Fields.Report()
        let top = Fields(object, prefix: "", path: "", report: report)

        let listen = parseListen(top)
        var dataDir = top.string("data_dir") ?? "./data"
        if !dataDir.hasPrefix("/") {
            if dataDir.hasPrefix("./") { dataDir.removeFirst(2) }
            dataDir = baseFolder == "." ? dataDir : baseFolder + "/" + dataDir
        }
        let tolerance = top.duration("webhook_tolerance") ?? 3600
        var http = HTTPLimits()
        if let h = top.object("http") {
            http.maxConnections = h.int("max_connections", min: 1) ?? http.maxConnections
            http.maxHeadBytes = h.int("max_head_bytes", min: 1024) ?? http.maxHeadBytes
            http.maxBodyBytes = h.int("max_body_bytes", min: 1) ?? http.maxBodyBytes
            http.headTimeout = h.duration("head_timeout") ?? http.headTimeout
            http.bodyTimeout = h.duration("body_timeout") ?? http.bodyTimeout
            http.idleTimeout = h.duration("idle_timeout") ?? http.idleTimeout
            http.drainTimeout = h.duration("drain_timeout") ?? http.drainTimeout
            http.loops = h.int("loops", min: 0) ?? http.loops
            h.finish()
        }

        var tenants: [TenantConfig] = []
        let tenantObjects = top.objects("tenants") ?? []
        if tenantObjects.isEmpty && report.problems.isEmpty { top.fail("tenants", "at least one tenant is required") }
        var seen: Set<String> = []
        for (i, t) in tenantObjects.enumerated() {
            if let tenant = parseTenant(t, index: i, report: report, baseFolder: baseFolder) {
                if !seen.insert(tenant.id).inserted {
                    report.problems.append("tenants[\(i)].id: '\(tenant.id)' is used by another tenant")
                }
                tenants.append(tenant)
            }
        }
        let tokens = (top.objects("admin_tokens") ?? []).enumerated().compactMap { i, o in
            parseToken(o, index: i, tenantIDs: seen, report: report)
        }
        let shard = parseShard(top, tenantIDs: seen)
        top.finish()
        guard report.problems.isEmpty else { throw ConfigError(problems: report.problems) }
        var config = UsersyncConfig(listen: listen, dataDir: dataDir, adminTokens: tokens, tenants: tenants,
                                    webhookTolerance: tolerance, http: http, warnings: report.warnings)
        config.shard = shard
        return config
    }

    private static func parseListen(_ top: Fields) -> ListenAddress {
        let raw = top.string("listen") ?? "127.0.0.1:8080"
        guard let colon = raw.lastIndex(of: ":"), let port = Int(raw[raw.index(after: colon)...]), (0...65535).contains(port) else {
            top.fail("listen", "'\(raw)' is not HOST:PORT")
            return ListenAddress(host: "127.0.0.1", port: 8080)
        }
        var host = String(raw[..<colon])
        if host.isEmpty { host = "0.0.0.0" }
        return ListenAddress(host: host, port: port)
    }

    private static func parseToken(_ o: [String: JSONValue], index: Int, tenantIDs: Set<String>, report: Fields.Report) -> AdminToken? {
        let f = Fields(o, prefix: "", path: "admin_tokens[\(index)]", report: report)
        defer { f.finish() }
        let name = f.string("name", required: true) ?? ""
        let token = f.secret("token", required: true)
        var permissions: Set<AdminToken.Permission> = []
        for p in f.strings("permissions") ?? [] {
            if let perm = AdminToken.Permission(rawValue: p) { permissions.insert(perm) } else {
                f.fail("permissions", "'\(p)' is not a permission (manage_users, manage_integrations)")
            }
        }
        let tenants = f.strings("tenants")
        for t in tenants ?? [] where !tenantIDs.contains(t) { f.fail("tenants", "'\(t)' is not a configured tenant") }
        guard let token, !name.isEmpty else { return nil }
        return AdminToken(name: name, token: token, permissions: permissions, tenants: tenants)
    }

    /// Tenant ids become file names: lowercase letters, digits, '-' and '_', at most 63.
    static func isValidTenantID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1...63).contains(u.count), isLowerAlnum(u[0]) else { return false }
        return u.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }

    private static func parseTenant(_ o: [String: JSONValue], index: Int, report: Fields.Report, baseFolder: String) -> TenantConfig? {
        var rawID: String?
        if case .string(let id)? = o["id"] { rawID = id }
        let validID = rawID.map(isValidTenantID) ?? false
        let prefix = validID ? "tenant \(rawID!): " : "tenants[\(index)]: "
        let f = Fields(o, prefix: prefix, path: "", report: report)
        defer { f.finish() }
        let id = f.string("id", required: true)
        if let id, !validID { f.fail("id", "'\(id)' is not a valid tenant id (lowercase letters, digits, '-' or '_', at most 63)") }
        let features = Set(f.strings("features") ?? [])
        let limit = f.int("licence_limit", required: true, min: 0)
        let zendesk = f.object("zendesk").flatMap { parseZendesk($0, features: features) }
        let intercom = f.object("intercom").flatMap { parseIntercom($0, features: features) }
        guard let id, validID, let limit else { return nil }
        return TenantConfig(id: id, features: features, licenceLimit: limit, zendesk: zendesk, intercom: intercom)
    }

    private static func requireIntegrations(_ f: Fields, enabled: Bool, features: Set<String>) {
        if enabled && !features.contains("integrations") {
            f.fail("enabled", "the contract-level 'integrations' feature is required to enable a source (add \"integrations\" to features)")
        }
    }

    /// A DNS label: letters, digits and inner hyphens, at most 63.
    static func isValidSubdomain(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1...63).contains(u.count), isLowerAlnum(u[0]), isLowerAlnum(u[u.count - 1]) else { return false }
        return u.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// `abc-energy`, or a full URL `https://abc-energy.zendesk.com` reduced to `abc-energy`.
    static func reduceSubdomain(_ raw: String) -> String? {
        var s = raw.trimmedSpaces.lowercased()
        for scheme in ["https://", "http://"] where s.hasPrefix(scheme) { s.removeFirst(scheme.count) }
        if let slash = s.firstIndex(of: "/") { s = String(s[..<slash]) }
        if s.hasSuffix(".zendesk.com") { s.removeLast(".zendesk.com".count) }
        guard isValidSubdomain(s) else { return nil }
        return s
    }

    private static func parseZendesk(_ f: Fields, features: Set<String>) -> ZendeskConfig? {
        defer { f.finish() }
        let enabled = f.bool("enabled", default: false)
        requireIntegrations(f, enabled: enabled, features: features)
        var subdomain: String?
        if let raw = f.string("subdomain", required: true) {
            subdomain = reduceSubdomain(raw)
            if subdomain == nil { f.fail("subdomain", "'\(raw)' is not a valid subdomain") }
        }
        let base = parseBaseURL(f) ?? subdomain.map { "https://\($0).zendesk.com" }
        var auth: ZendeskConfig.Auth?
        if let a = f.object("auth") {
            defer { a.finish() }
            switch a.string("type", required: true) {
            case "api_token"?:
                let email = a.string("email", required: true)
                if let email, !email.contains("@") { a.fail("email", "'\(email)' is not an email address") }
                if let email, let token = a.secret("token", required: true) { auth = .apiToken(email: email, token: token) }
            case "oauth"?:
                let clientID = a.string("client_id", required: true)
                let secret = a.secret("client_secret", required: true)
                let redirect = a.string("redirect_url")
                let scope = a.string("scope") ?? "read webhooks:write"
                if let clientID, let secret { auth = .oauth(clientID: clientID, clientSecret: secret, redirectURL: redirect, scope: scope) }
            case let other?:
                a.fail("type", "'\(other)' is not an auth type (api_token, oauth)")
            case nil:
                break
            }
        } else {
            f.fail("auth", "is required")
        }
        let webhookSecret = f.secret("webhook_secret", required: false)
        let roles = f.strings("roles")
        if let roles {
            if roles.isEmpty { f.fail("roles", "select at least one role (agent, admin, or a custom role)") }
            for r in roles where ["end-user", "end_user", "enduser"].contains(r.lowercased()) {
                f.fail("roles", "end-users are never imported; remove '\(r)'")
            }
        } else if enabled {
            f.fail("roles", "is required: select at least one role (agent, admin, or a custom role)")
        }
        let identifier = parseIdentifier(f)
        let schedule = parseSchedule(f)
        let maxDeactivations = f.int("max_deactivations", min: 0)
        guard let subdomain, let base, let auth, let identifier, let schedule else { return nil }
        return ZendeskConfig(enabled: enabled, subdomain: subdomain, apiBaseURL: base, auth: auth, webhookSecret: webhookSecret,
                             roles: roles ?? [], primaryIdentifier: identifier, reconcile: schedule,
                             maxDeactivations: maxDeactivations)
    }

    private static func parseIntercom(_ f: Fields, features: Set<String>) -> IntercomConfig? {
        defer { f.finish() }
        let enabled = f.bool("enabled", default: false)
        requireIntegrations(f, enabled: enabled, features: features)
        if f.has("roles") { f.fail("roles", "Intercom imports workspace admins (teammates); it has no roles to pick") }
        let region = (f.string("region") ?? "us").lowercased()
        // https://developers.intercom.com/building-apps/docs/rest-apis (regional hosts)
        let hosts = ["us": "https://api.intercom.io", "eu": "https://api.eu.intercom.io", "au": "https://api.au.intercom.io"]
        if hosts[region] == nil { f.fail("region", "'\(region)' is not a region (us, eu, au)") }
        let base = parseBaseURL(f) ?? hosts[region]
        var token: SecretRef?
        if let a = f.object("auth") {
            defer { a.finish() }
            let type = a.string("type") ?? "access_token"
            if type != "access_token" && type != "oauth" { a.fail("type", "'\(type)' is not an auth type (access_token)") }
            token = a.secret("token", required: true)
        } else {
            f.fail("auth", "is required")
        }
        let webhookSecret = f.secret("webhook_secret", required: false)
        let identifier = parseIdentifier(f)
        let schedule = parseSchedule(f)
        let maxDeactivations = f.int("max_deactivations", min: 0)
        guard let base, let token, let identifier, let schedule else { return nil }
        return IntercomConfig(enabled: enabled, region: region, apiBaseURL: base, token: token, webhookSecret: webhookSecret,
                              primaryIdentifier: identifier, reconcile: schedule, maxDeactivations: maxDeactivations)
    }

    private static func parseBaseURL(_ f: Fields) -> String? {
        guard let raw = f.string("api_base_url") else { return nil }
        var s = raw
        while s.hasSuffix("/") { s.removeLast() }
        guard let url = URL(string: s), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            f.fail("api_base_url", "'\(raw)' is not an http(s) URL")
            return nil
        }
        return s
    }

    private static func parseIdentifier(_ f: Fields) -> PrimaryIdentifier? {
        let raw = f.string("primary_identifier")
        guard let id = PrimaryIdentifier(configValue: raw) else {
            f.fail("primary_identifier", "'\(raw ?? "")' is not an identifier (leave blank, or external_id, email, user_fields.<key>)")
            return nil
        }
        return id
    }

    private static func parseSchedule(_ f: Fields) -> ReconcileSchedule? {
        guard let r = f.object("reconcile") else { return ReconcileSchedule(every: 86_400, at: nil, incrementalEvery: nil) }
        defer { r.finish() }
        let every = r.duration("every") ?? 86_400
        var at: Int?
        if let raw = r.string("at") {
            let parts = raw.split(separator: ":")
            if parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]), h < 24, m < 60 {
                at = h * 60 + m
            } else {
                r.fail("at", "'\(raw)' is not a time HH:MM (UTC)")
            }
        }
        let incremental = r.duration("incremental_every")
        return ReconcileSchedule(every: every, at: at, incrementalEvery: incremental)
    }
}
