import FoundationEssentials
import JSON
import SyncRules

extension UsersyncConfig {
    /// Loads and validates the file at `path`. Relative paths in it are relative to the file's folder.
    public static func load(path: String, desks: [any DeskSection]) throws -> UsersyncConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(problems: ["\(path): cannot read the config file"])
        }
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        return try parse(data, baseFolder: folder.isEmpty ? "/" : folder, desks: desks)
    }

    /// `desks` are the registered desks: each tenant may have one section per desk.
    public static func parse(_ data: Data, baseFolder: String = ".", desks: [any DeskSection]) throws -> UsersyncConfig {
        let root: JSONValue
        do {
            root = try JSONValue.parse(Array(data))
        } catch {
            throw ConfigError(problems: ["config is not valid JSON: \(error)"])
        }
        guard let object = Fields.members(root) else { throw ConfigError(problems: ["config must be a JSON object"]) }
        let report = Fields.Report()
        let top = Fields(object, prefix: "", path: "", report: report)

        let parsedListen = parseListen(top)
        let listen = parsedListen ?? ListenAddress(host: "127.0.0.1", port: 8080)
        let adminListen = parseListen(top, key: "admin_listen")
        if let adminListen, let parsedListen, adminListen.clashes(with: parsedListen) {
            top.fail("admin_listen", "'\(adminListen)' is the address of listen: the admin API needs its own port")
        }
        var dataDir = top.string("data_dir") ?? "./data"
        if !dataDir.hasPrefix("/") {
            if dataDir.hasPrefix("./") { dataDir.removeFirst(2) }
            dataDir = baseFolder == "." ? dataDir : baseFolder + "/" + dataDir
        }
        let tolerance = top.duration("webhook_tolerance") ?? 3600
        let secretOverlap = top.duration("webhook_secret_overlap") ?? 86_400
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

        var retention = Retention()
        if let r = top.object("retention") {
            retention.inbox = r.duration("inbox") ?? retention.inbox
            retention.audit = r.duration("audit")
            r.finish()
        }
        var events = EventRetries()
        if let e = top.object("events") {
            events.maxAttempts = e.int("max_attempts", min: 1) ?? events.maxAttempts
            events.retryDelay = e.duration("retry_delay") ?? events.retryDelay
            e.finish()
        }

        var tenants: [TenantConfig] = []
        let tenantObjects = top.objects("tenants") ?? []
        if tenantObjects.isEmpty && report.problems.isEmpty { top.fail("tenants", "at least one tenant is required") }
        var seen: Set<String> = []
        for (i, t) in tenantObjects.enumerated() {
            if let tenant = parseTenant(t, index: i, report: report, baseFolder: baseFolder, desks: desks) {
                if !seen.insert(tenant.id).inserted {
                    report.problems.append("tenants[\(i)].id: '\(tenant.id)' is used by another tenant")
                }
                tenants.append(tenant)
            }
        }
        let tokens = (top.objects("admin_tokens") ?? []).enumerated().compactMap { i, o in
            parseToken(o, index: i, tenantIDs: seen, report: report)
        }
        let tls = parseTLS(top, baseFolder: baseFolder)
        let shard = parseShard(top, tenantIDs: seen)
        top.finish()
        guard report.problems.isEmpty else { throw ConfigError(problems: report.problems) }
        var config = UsersyncConfig(listen: listen, dataDir: dataDir, adminTokens: tokens, tenants: tenants,
                                    webhookTolerance: tolerance, http: http, retention: retention, events: events,
                                    warnings: report.warnings, tls: tls)
        config.adminListen = adminListen
        config.webhookSecretOverlap = secretOverlap
        config.shard = shard
        return config
    }

    /// `HOST:PORT` under `key`; `listen` defaults to 127.0.0.1:8080, other keys to absent.
    private static func parseListen(_ top: Fields, key: String = "listen") -> ListenAddress? {
        guard let raw = top.string(key) ?? (key == "listen" ? "127.0.0.1:8080" : nil) else { return nil }
        guard let address = ListenAddress(raw) else {
            top.fail(key, "'\(raw)' is not \(ListenAddress.form)")
            return nil
        }
        return address
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

    private static func parseTenant(_ o: [String: JSONValue], index: Int, report: Fields.Report, baseFolder: String,
                                    desks: [any DeskSection]) -> TenantConfig? {
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
        let sources = desks.compactMap { desk in
            f.object(desk.kind.rawValue).flatMap { parseSource($0, desk: desk, features: features) }
        }
        guard let id, validID, let limit else { return nil }
        return TenantConfig(id: id, features: features, licenceLimit: limit, sources: sources)
    }

    private static func requireIntegrations(_ f: Fields, enabled: Bool, features: Set<String>) {
        if enabled && !features.contains("integrations") {
            f.fail("enabled", "the contract-level 'integrations' feature is required to enable a source (add \"integrations\" to features)")
        }
    }

    /// A desk section: the shared keys here, the desk's own through `desk.parseOptions`.
    private static func parseSource(_ f: Fields, desk: any DeskSection, features: Set<String>) -> SourceConfig? {
        defer { f.finish() }
        let enabled = f.bool("enabled", default: false)
        requireIntegrations(f, enabled: enabled, features: features)
        let base = parseBaseURL(f)
        var auth: SourceAuth?
        if let a = f.object("auth") {
            defer { a.finish() }
            let type = a.string("type") ?? desk.authTypes.first
            switch type {
            case let t? where !desk.authTypes.contains(t):
                a.fail("type", "'\(t)' is not an auth type (\(desk.authTypes.joined(separator: ", ")))")
            case "api_token"?:
                let email = a.string("email", required: true)
                if let email, !email.contains("@") { a.fail("email", "'\(email)' is not an email address") }
                if let email, let token = a.secret("token", required: true) { auth = .apiToken(email: email, token: token) }
            case "access_token"?:
                if let token = a.secret("token", required: true) { auth = .accessToken(token) }
            case "oauth"?:
                let clientID = a.string("client_id", required: true)
                let secret = a.secret("client_secret", required: true)
                let redirect = a.string("redirect_url")
                let scope = a.string("scope")
                if let clientID, let secret { auth = .oauth(clientID: clientID, clientSecret: secret, redirectURL: redirect, scope: scope) }
            default:
                a.fail("type", "is required")
            }
        } else {
            f.fail("auth", "is required")
        }
        let webhookSecret = f.secret("webhook_secret", required: false)
        let identifier = parseIdentifier(f)
        let schedule = parseSchedule(f, defaultEvery: desk.defaultEvery)
        let maxDeactivations = f.int("max_deactivations", min: 0)
        let parsed = identifier.flatMap { desk.parseOptions(f, enabled: enabled, baseURL: base, identifier: $0) }
        guard let parsed, let auth, let identifier, let schedule else { return nil }
        return SourceConfig(kind: desk.kind, enabled: enabled, apiBaseURL: parsed.apiBaseURL, auth: auth, webhookSecret: webhookSecret,
                            settings: SyncSettings(source: desk.kind, scope: parsed.scope, identifier: identifier),
                            reconcile: schedule, maxDeactivations: maxDeactivations, options: parsed.options)
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

    private static func parseSchedule(_ f: Fields, defaultEvery: Int) -> ReconcileSchedule? {
        guard let r = f.object("reconcile") else { return ReconcileSchedule(every: defaultEvery, at: nil, incrementalEvery: nil) }
        defer { r.finish() }
        let every = r.duration("every") ?? defaultEvery
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
        return ReconcileSchedule(every: every, at: at, incrementalEvery: incremental, retry: r.duration("retry") ?? 60)
    }
}
