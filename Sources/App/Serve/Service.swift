import Glibc
import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import HTTPServer
import Signing
import SyncRules
import Webhooks

/// `usersync serve`: the receiver, the apply workers and the schedulers, with the config
/// re-read on SIGHUP or when the file changes (an invalid file is rejected and the old one
/// stays in force). This is the wiring; each part lives in its own module.
final class Service: @unchecked Sendable {
    let configPath: String
    let dataDirOverride: String?
    /// `serve --tenants`: wins over the config's `shard.tenants`, across reloads.
    let shardOverride: [String]?
    /// `serve --listen`: one config can serve several instances on one machine.
    let listenOverride: ListenAddress?
    /// `serve --admin-listen`: wins over the config's `admin_listen`.
    var adminListenOverride: ListenAddress?
    let log = Log()
    let metrics = Metrics()
    private let lock = Lock()
    private(set) var config: UsersyncConfig
    private var runtimes: [String: TenantRuntime] = [:]
    private var directories: [String: TenantDirectory] = [:]
    private var tokens: [(secret: [UInt8], token: AdminToken)] = []
    private var server: HTTPServer?
    private var adminServer: HTTPServer?
    private var configStamp: timespec?
    /// The version of the file last refused, so it is reported once, not at every look.
    private var refusedStamp: timespec?
    /// The secrets that could not be read when the config in force was taken (startup
    /// logs them and goes on): a reload may keep those, but not add to them.
    private var unreadable: Set<String> = []
    private var pruner: Pruner?
    private(set) var ready = false

    init(configPath: String, dataDirOverride: String?, shardOverride: [String]? = nil, listenOverride: ListenAddress? = nil,
         config: UsersyncConfig) {
        self.configPath = configPath
        self.dataDirOverride = dataDirOverride
        self.shardOverride = shardOverride
        self.listenOverride = listenOverride
        self.config = config
    }

    var dataDir: String { dataDirOverride ?? config.dataDir }

    // MARK: state read by request handlers

    func runtime(_ tenant: String) -> TenantRuntime? { lock.withLock { runtimes[tenant] } }
    var allRuntimes: [TenantRuntime] { lock.withLock { Array(runtimes.values).sorted { $0.config.id < $1.config.id } } }
    var webhookTolerance: Int { lock.withLock { config.webhookTolerance } }
    var currentConfig: UsersyncConfig { lock.withLock { config } }

    /// The admin token matching `presented`, compared in constant time.
    func token(_ presented: String) -> AdminToken? {
        let given = Array(presented.utf8)
        let all = lock.withLock { tokens }
        var found: AdminToken?
        // Every token is compared, so the time does not tell which one matched.
        for t in all where MessageAuthentication.constantTimeEqual(t.secret, given) { found = t.token }
        return found
    }

    // MARK: lifecycle

    func start() throws {
        unreadable = Set(config.unreadableSecrets(of: served(config)))
        try apply(config, previous: nil)
        var sc = ServerConfiguration()
        sc.host = (listenOverride ?? config.listen).host
        sc.port = (listenOverride ?? config.listen).port
        sc.maxConnections = config.http.maxConnections
        sc.maxHeadBytes = config.http.maxHeadBytes
        sc.maxBodyBytes = config.http.maxBodyBytes
        sc.headTimeout = Double(config.http.headTimeout)
        sc.bodyTimeout = Double(config.http.bodyTimeout)
        sc.idleTimeout = Double(config.http.idleTimeout)
        sc.drainTimeout = Double(config.http.drainTimeout)
        sc.loops = config.http.loops
        sc.tls = config.tls.map { .init(certificateFile: $0.certFile, keyFile: $0.keyFile) }
        let limit = HTTPServer.raiseDescriptorLimit(toFit: sc.maxConnections)
        if limit.after != limit.before {
            log.info("raised the open file limit", ["from": String(limit.before), "to": String(limit.after)])
        } else if limit.after < sc.maxConnections {
            log.warn("open file limit below http.max_connections", ["limit": String(limit.after)])
        }
        let requests = Metrics.Family(metrics, "usersync_http_requests_total", base: [], varying: ["route", "method", "status"])
        let observer: @Sendable (String, String, Int) -> Void = { route, method, status in
            requests.series(route, method, String(status)).add()
        }
        let routes = Routes(service: self)
        let surface: Routes.Surface = (adminListenOverride ?? config.adminListen) == nil ? .all : .webhooks
        let server = HTTPServer(configuration: sc, router: routes.router(surface), observer: observer)
        try server.start()
        self.server = server
        var adminAddress = ""
        if let admin = adminListenOverride ?? config.adminListen {
            var ac = sc
            ac.host = admin.host
            ac.port = admin.port
            ac.loops = 1
            let adminServer = HTTPServer(configuration: ac, router: routes.router(.admin), observer: observer)
            try adminServer.start()
            self.adminServer = adminServer
            adminAddress = "\(admin.host):\(adminServer.port)"
        }
        let pruner = Pruner(runtimes: { [unowned self] in allRuntimes }, retention: { [unowned self] in
            lock.withLock { config.retention }
        }, log: log)
        pruner.start()
        self.pruner = pruner
        configStamp = Self.stamp(configPath)
        ready = true
        var fields = ["address": "\(sc.host):\(server.port)", "tenants": served(config).map(\.id).joined(separator: ","),
                      "scheme": sc.tls == nil ? "http" : "https"]
        if !adminAddress.isEmpty { fields["admin_address"] = adminAddress }
        log.info("listening", fields)
    }

    var port: Int { server?.port ?? 0 }

    /// Re-reads the certificate and key for new connections (open ones keep theirs); on
    /// an error the pair in service stays.
    func reloadTLS(reason: String) {
        guard let server, server.configuration.tls != nil else { return }
        do {
            try server.reloadTLS()
            log.info("tls certificate reloaded", ["reason": reason])
        } catch {
            log.error("tls certificate rejected; keeping the previous one", ["reason": reason, "error": "\(error)"])
        }
    }

    /// Stops accepting, drains in-flight requests, then stops writers, appliers and schedulers.
    func stop() {
        ready = false
        server?.stop()
        adminServer?.stop()
        pruner?.stop()
        TenantRuntime.stop(lock.withLock { Array(runtimes.values) })
        log.info("stopped")
    }

    /// Re-reads the config file and the secrets it references; keeps the old config when
    /// the new one is invalid, or names a secret that cannot be read and could be before
    /// (taking it would leave a source unable to verify or fetch).
    func reload(reason: String) {
        reloadTLS(reason: reason)
        let stamp = Self.stamp(configPath)
        let fresh: UsersyncConfig
        do {
            fresh = try UsersyncConfig.load(path: configPath, desks: DeskRegistry.all)
        } catch {
            refuse(stamp, reason: reason, "\(error)")
            return
        }
        let nowUnreadable = fresh.unreadableSecrets(of: served(fresh))
        let lost = nowUnreadable.filter { !unreadable.contains($0) }
        guard lost.isEmpty else {
            refuse(stamp, reason: reason, lost.joined(separator: "; "))
            return
        }
        if let stamp { configStamp = stamp }
        unreadable = Set(nowUnreadable)
        let previous = lock.withLock { config }
        if fresh.listen != previous.listen || fresh.adminListen != previous.adminListen || fresh.http != previous.http
            || fresh.tls != previous.tls {
            log.warn("listen, admin_listen, http and tls paths change only on restart", ["reason": reason])
        }
        do {
            try apply(fresh, previous: previous)
            lock.withLock { config = fresh }
            if fresh.retention != previous.retention { pruner?.reschedule() }
            log.info("config reloaded", ["reason": reason, "tenants": served(fresh).map(\.id).joined(separator: ",")])
        } catch {
            log.error("config could not be applied; keeping the previous one", ["error": "\(error)"])
        }
    }

    /// Re-reads the webhook secrets `install-webhook` stored, for every source: a rotation
    /// made by another process is learnt within seconds, so the replaced secret stops
    /// verifying when its overlap ends even if only it is still used (the receiver's own
    /// re-read happens only on a signature that does not match).
    func refreshWebhookSecrets() {
        for rt in allRuntimes {
            for s in rt.sources.values { s.reloadStoredSecrets(from: rt.directory) }
        }
    }

    private func refuse(_ stamp: timespec?, reason: String, _ error: String) {
        refusedStamp = stamp
        log.error("config rejected; keeping the previous one", ["reason": reason, "error": error])
    }

    /// Reloads when the file's modification time changed (and is not the version refused).
    func checkFile() {
        guard let now = Self.stamp(configPath), let old = configStamp, !Self.same(now, old) else { return }
        if let refused = refusedStamp, Self.same(now, refused) { return }
        reload(reason: "file changed")
    }

    private static func same(_ a: timespec, _ b: timespec) -> Bool { a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec }

    private static func stamp(_ path: String) -> timespec? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mtim : nil
    }

    /// The tenants this instance serves under `config` (SPEC §5): the others get no
    /// runtime and no database here, so every route answers 404 for them.
    private func served(_ config: UsersyncConfig) -> [TenantConfig] { config.servedTenants(only: shardOverride) }

    private func apply(_ new: UsersyncConfig, previous: UsersyncConfig?) throws {
        if let only = shardOverride, case let unknown = new.unknownTenants(only), !unknown.isEmpty {
            throw ShardError.unknownTenants(unknown)
        }
        var resolved: [(secret: [UInt8], token: AdminToken)] = []
        for t in new.adminTokens {
            do { resolved.append((Array(try t.token.resolve().utf8), t)) } catch {
                log.error("admin token unavailable", ["token": t.name, "error": "\(error)"])
            }
        }
        let dataDir = dataDirOverride ?? new.dataDir
        var next: [String: TenantRuntime] = [:]
        var stale: [TenantRuntime] = []
        let current = lock.withLock { runtimes }
        let tenants = served(new)
        // Settings every tenant's runtime is built with: a change rebuilds them all.
        let sharedChanged = previous.map { $0.events != new.events || $0.webhookSecretOverlap != new.webhookSecretOverlap } ?? true
        for t in tenants {
            let directory: TenantDirectory
            if let d = lock.withLock({ directories[t.id] }) {
                directory = d
            } else {
                directory = try TenantDirectory(dataDir: dataDir, tenant: t.id)
                lock.withLock { directories[t.id] = directory }
            }
            // A rotated secret file rebuilds the tenant as a changed section does.
            let secrets = t.secretsDigest()
            if let existing = current[t.id], existing.config == t, !sharedChanged, existing.secretsRead == secrets {
                next[t.id] = existing
                continue
            }
            var justEnabled = Set<SourceKind>()
            if let previous {
                // A tenant that joins the shard (moved here, perhaps restored from a replica)
                // counts as just enabled: a full run at once repairs what its file missed.
                let old = served(previous).first { $0.id == t.id }
                for s in t.sources where s.enabled && old?.source(s.kind)?.enabled != true { justEnabled.insert(s.kind) }
            }
            if let existing = current[t.id] { stale.append(existing) }
            next[t.id] = TenantRuntime.make(t, directory: directory, secretsRead: secrets, justEnabled: justEnabled,
                                             events: new.events, secretOverlap: new.webhookSecretOverlap, log: log, metrics: metrics)
        }
        for (id, r) in current where next[id] == nil { stale.append(r) }
        // Together: a scheduler may take up to 10 s to stop, and a reload that rebuilds every
        // tenant must not add those up (webhooks meanwhile get 503).
        TenantRuntime.stop(stale)
        // After the stop: a scheduler mid-pass could otherwise set it again.
        for id in current.keys where next[id] == nil {
            metrics.forget("usersync_reconcile_last_success_timestamp_seconds", where: ("tenant", id))
        }
        lock.withLock {
            runtimes = next
            tokens = resolved
            // A tenant that left the shard closes its database, so it can be moved.
            directories = directories.filter { next[$0.key] != nil }
        }
        for (id, r) in next where current[id] !== r { r.start() }
    }

    /// Values computed at scrape time: inbox backlog and failures, auth health, schedules, users by status.
    func scrapeGauges() -> [(name: String, labels: [(String, String)], value: Double)] {
        var out: [(name: String, labels: [(String, String)], value: Double)] = []
        for r in allRuntimes {
            for (kind, s) in r.sources.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                let labels = [("tenant", r.config.id), ("source", kind.rawValue)]
                if let b = try? r.directory.inboxBacklog(source: kind) {
                    out.append(("usersync_inbox_backlog", labels, Double(b.pending)))
                    out.append(("usersync_inbox_failed_events", labels, Double(b.failed)))
                }
                if let state = try? r.directory.sourceState(kind) {
                    out.append(("usersync_source_auth_broken", labels, state.authBroken ? 1 : 0))
                }
                if s.enabled { out.append(("usersync_reconcile_interval_seconds", labels, Double(s.config.reconcile.every))) }
            }
            if let counts = try? r.directory.statusCounts() {
                for s in LocalUser.Status.allCases {
                    out.append(("usersync_users", [("tenant", r.config.id), ("status", s.rawValue)], Double(counts[s] ?? 0)))
                }
            }
        }
        return out
    }
}

/// `serve --tenants` named a tenant the config does not have.
enum ShardError: Error, CustomStringConvertible {
    case unknownTenants([String])

    var description: String {
        switch self {
        case .unknownTenants(let ids): "--tenants: not configured tenants: \(ids.joined(separator: ", "))"
        }
    }
}
