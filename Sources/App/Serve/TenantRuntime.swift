import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import Reconciliation
import SyncRules
import Webhooks

/// What runs for one tenant's source while serving: its desk, client, inbox writer, applier
/// and scheduler. A disabled source keeps only what the receiver needs to verify and answer.
final class SourceRuntime: @unchecked Sendable {
    let desk: any Desk
    let config: SourceConfig
    let enabled: Bool
    private let lock = Lock()
    /// The configured secret (if any), then those `install-webhook` stored.
    private let configured: [String]
    private var stored: StoredWebhookSecrets
    private let overlap: Int64
    private var lastRefresh = Date.distantPast
    let writer: InboxWriter?
    let applier: InboxApplier?
    let scheduler: Scheduler?
    /// `usersync_webhook_deliveries_total` of this source, by outcome.
    let deliveries: Metrics.Family

    var kind: SourceKind { desk.kind }

    init(desk: any Desk, config: SourceConfig, enabled: Bool, configured: [String], stored: StoredWebhookSecrets, overlap: Int64,
         writer: InboxWriter?, applier: InboxApplier?, scheduler: Scheduler?, deliveries: Metrics.Family) {
        self.desk = desk
        self.config = config
        self.enabled = enabled
        self.configured = configured
        self.stored = stored
        self.overlap = overlap
        self.writer = writer
        self.applier = applier
        self.scheduler = scheduler
        self.deliveries = deliveries
    }

    /// The secrets that verify now: a replaced stored secret stops once its overlap passed.
    var secrets: [String] {
        let now = Int64(Date().timeIntervalSince1970)
        return lock.withLock { configured + stored.valid(at: now) }
    }

    /// For a delivery whose signature matched none of `tried`: re-reads the secrets
    /// `install-webhook` stored (a rotation since they were last read), at most once a
    /// second so bad signatures cannot hammer the database. True when a secret not in
    /// `tried` now verifies, whoever read it (this, or the periodic `reloadStoredSecrets`).
    func refreshStoredSecret(from directory: TenantDirectory, tried: [String]) -> Bool {
        let due = lock.withLock { () -> Bool in
            guard Date().timeIntervalSince(lastRefresh) >= 1 else { return false }
            lastRefresh = Date()
            return true
        }
        if due { reloadStoredSecrets(from: directory) }
        return !Set(secrets).subtracting(tried).isEmpty
    }

    /// Re-reads the stored secrets unconditionally (the periodic check: a replaced secret
    /// must stop when its overlap ends even if no other signature ever arrives).
    func reloadStoredSecrets(from directory: TenantDirectory) {
        guard let fresh = try? directory.webhookSecrets(source: kind, overlap: overlap) else { return }
        lock.withLock { stored = fresh }
    }

    func start() {
        applier?.start()
        scheduler?.start()
    }

    /// Asks the scheduler and the applier to stop; `waitStopped` waits for both.
    func requestStop() {
        scheduler?.requestStop()
        applier?.requestStop()
    }

    func waitStopped() {
        scheduler?.waitStopped()
        applier?.waitStopped()
    }
}

/// One tenant while serving: its directory, its one inbox writer (a thread of its own,
/// shared by its sources) and its sources.
final class TenantRuntime: @unchecked Sendable {
    let config: TenantConfig
    let directory: TenantDirectory
    let writer: InboxWriter?
    let sources: [SourceKind: SourceRuntime]
    /// What its secrets read as when it was built (`TenantConfig.secretsDigest`).
    let secretsRead: Int

    init(config: TenantConfig, directory: TenantDirectory, writer: InboxWriter?, sources: [SourceKind: SourceRuntime],
         secretsRead: Int) {
        self.config = config
        self.directory = directory
        self.writer = writer
        self.sources = sources
        self.secretsRead = secretsRead
    }

    func start() {
        writer?.start()
        for s in sources.values { s.start() }
    }

    /// Stops runtimes together: each writer first (what it holds is stored before the
    /// appliers stop), then every scheduler and applier is asked to stop before any is
    /// waited for, so their waits (a scheduler may take up to 10 s) do not add up.
    static func stop(_ runtimes: [TenantRuntime]) {
        for r in runtimes { r.writer?.stop() }
        let sources = runtimes.flatMap { $0.sources.values }
        for s in sources { s.requestStop() }
        for s in sources { s.waitStopped() }
    }

    /// Builds the runtime for every desk section of the tenant; `justEnabled` sources run
    /// their import at once.
    static func make(_ t: TenantConfig, directory: TenantDirectory, secretsRead: Int, justEnabled: Set<SourceKind>,
                     events: EventRetries, secretOverlap: Int, log: Log, metrics: Metrics) -> TenantRuntime {
        var sources: [SourceKind: SourceRuntime] = [:]
        let enabled = t.integrationsAllowed && t.sources.contains { $0.enabled }
        let writer = enabled ? InboxWriter(directory: directory) : nil
        for section in t.sources {
            guard let desk = DeskRegistry.desk(section.kind) else { continue }
            sources[section.kind] = makeSource(desk, section, tenant: t, directory: directory, writer: writer,
                                               runNow: justEnabled.contains(section.kind), events: events,
                                               secretOverlap: Int64(secretOverlap), log: log, metrics: metrics)
        }
        return TenantRuntime(config: t, directory: directory, writer: writer, sources: sources, secretsRead: secretsRead)
    }

    private static func makeSource(_ desk: any Desk, _ section: SourceConfig, tenant t: TenantConfig, directory: TenantDirectory,
                                   writer: InboxWriter?, runNow: Bool, events: EventRetries, secretOverlap: Int64,
                                   log: Log, metrics: Metrics) -> SourceRuntime {
        let kind = section.kind
        let fields = ["tenant": t.id, "source": kind.rawValue]
        var secrets: [String] = []
        if let ref = section.webhookSecret {
            do { secrets.append(try ref.resolve()) } catch {
                log.error("webhook secret unavailable", fields.merging(["error": "\(error)"]) { a, _ in a })
            }
        }
        let stored = (try? directory.webhookSecrets(source: kind, overlap: secretOverlap)) ?? StoredWebhookSecrets()
        // Two clients, each with its own connection: the applier's Show User must not wait
        // behind a full run's page request in flight (a client sends one at a time).
        var client: (any Source)?
        var applierClient: (any Source)?
        do {
            let factory = SourceFactory(log: { message in log.warn(message, fields) })
            client = try factory.source(kind, tenant: t, directory: directory)
            applierClient = try factory.source(kind, tenant: t, directory: directory)
        } catch {
            log.error("\(kind.rawValue) client unavailable", fields.merging(["error": "\(error)"]) { a, _ in a })
        }
        let enabled = section.enabled && t.integrationsAllowed
        let labels = [("tenant", t.id), ("source", kind.rawValue)]
        let deliveries = Metrics.Family(metrics, "usersync_webhook_deliveries_total", base: labels, varying: ["outcome"])
        guard enabled, let writer else {
            return SourceRuntime(desk: desk, config: section, enabled: false, configured: secrets, stored: stored,
                                 overlap: secretOverlap, writer: nil, applier: nil, scheduler: nil, deliveries: deliveries)
        }
        let settled = Metrics.Family(metrics, "usersync_events_total", base: labels, varying: ["type", "outcome"])
        let latencies = metrics.histogram("usersync_apply_latency_seconds", labels)
        let applier = InboxApplier(directory: directory, format: desk.webhooks, source: applierClient,
                                   settings: .init(sync: section.settings, licenceLimit: t.licenceLimit,
                                                   maxAttempts: events.maxAttempts, retryDelay: Double(events.retryDelay)),
                                   log: { log.warn($0, fields) },
                                   observer: { type, outcome, latency in
                                       settled.series(type, outcome).add()
                                       if let latency { latencies.observe(latency) }
                                   })
        writer.onStored(kind) { applier.wake() }
        var scheduler: Scheduler?
        if let client {
            scheduler = Scheduler(tenant: t.id, source: kind, directory: directory, schedule: section.reconcile, runNow: runNow,
                                  retryAfter: Int64(section.reconcile.retry), watchesToken: section.auth.isOAuth,
                                  log: log, metrics: metrics) {
                Reconciler(directory: directory, source: client, settings: section.settings, licenceLimit: t.licenceLimit,
                           maxDeactivations: section.maxDeactivations)
            }
        }
        return SourceRuntime(desk: desk, config: section, enabled: true, configured: secrets, stored: stored, overlap: secretOverlap,
                             writer: writer, applier: applier, scheduler: scheduler, deliveries: deliveries)
    }
}
