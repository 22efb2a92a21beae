import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import Reconciliation
import SyncRules
import Webhooks

/// What runs for one tenant's source while serving: its client, inbox writer, applier and
/// scheduler. A disabled source keeps only what the receiver needs to verify and answer.
final class SourceRuntime: @unchecked Sendable {
    let kind: SourceKind
    let enabled: Bool
    private let lock = Lock()
    private var knownSecrets: [String]
    private var lastRefresh = Date.distantPast
    let writer: InboxWriter?
    let applier: InboxApplier?
    let scheduler: Scheduler?

    init(kind: SourceKind, enabled: Bool, secrets: [String], writer: InboxWriter?, applier: InboxApplier?, scheduler: Scheduler?) {
        self.kind = kind
        self.enabled = enabled
        self.knownSecrets = secrets
        self.writer = writer
        self.applier = applier
        self.scheduler = scheduler
    }

    var secrets: [String] { lock.withLock { knownSecrets } }

    /// Picks up a signing secret stored by `zendesk install-webhook` after this runtime was
    /// built; at most once a second, so bad signatures cannot hammer the database.
    func refreshStoredSecret(from directory: TenantDirectory) -> Bool {
        let due = lock.withLock { () -> Bool in
            guard Date().timeIntervalSince(lastRefresh) >= 1 else { return false }
            lastRefresh = Date()
            return true
        }
        guard due, let stored = try? directory.sourceState(kind).webhookSecret else { return false }
        return lock.withLock {
            if knownSecrets.contains(stored) { return false }
            knownSecrets.append(stored)
            return true
        }
    }

    func start() {
        applier?.start()
        scheduler?.start()
    }

    func stop() {
        scheduler?.stop()
        applier?.stop()
    }
}

/// One tenant while serving: its directory, its one inbox writer (a thread of its own,
/// shared by its sources) and its sources.
final class TenantRuntime: @unchecked Sendable {
    let config: TenantConfig
    let directory: TenantDirectory
    let writer: InboxWriter?
    let sources: [SourceKind: SourceRuntime]

    init(config: TenantConfig, directory: TenantDirectory, writer: InboxWriter?, sources: [SourceKind: SourceRuntime]) {
        self.config = config
        self.directory = directory
        self.writer = writer
        self.sources = sources
    }

    func start() {
        writer?.start()
        for s in sources.values { s.start() }
    }

    /// The writer first: what it holds is stored before the appliers stop.
    func stop() {
        writer?.stop()
        for s in sources.values { s.stop() }
    }

    /// Builds the runtime; `justEnabled` sources run their import at once.
    static func make(_ t: TenantConfig, directory: TenantDirectory, justEnabled: Set<SourceKind>, events: EventRetries,
                     log: Log, metrics: Metrics) -> TenantRuntime {
        var sources: [SourceKind: SourceRuntime] = [:]
        var tenantWriter: InboxWriter?
        func sharedWriter() -> InboxWriter {
            if let w = tenantWriter { return w }
            let w = InboxWriter(directory: directory)
            tenantWriter = w
            return w
        }
        if let z = t.zendesk {
            var secrets: [String] = []
            if let ref = z.webhookSecret {
                do { secrets.append(try ref.resolve()) } catch {
                    log.error("webhook secret unavailable", ["tenant": t.id, "source": "zendesk", "error": "\(error)"])
                }
            }
            if let stored = try? directory.sourceState(.zendesk).webhookSecret { secrets.append(stored) }
            var client: ZendeskClient?
            do {
                client = try SourceFactory(log: { message in log.warn(message, ["tenant": t.id, "source": "zendesk"]) })
                    .zendesk(t, directory: directory)
            } catch {
                log.error("zendesk client unavailable", ["tenant": t.id, "error": "\(error)"])
            }
            let enabled = z.enabled && t.integrationsAllowed
            var writer: InboxWriter?
            var applier: InboxApplier?
            var scheduler: Scheduler?
            if enabled {
                let a = InboxApplier(directory: directory, source: client,
                                     settings: .init(sync: z.settings, licenceLimit: t.licenceLimit,
                                                     maxAttempts: events.maxAttempts, retryDelay: Double(events.retryDelay)),
                                     log: { log.warn($0, ["tenant": t.id, "source": "zendesk"]) },
                                     observer: { type, outcome, latency in
                                         metrics.increment("usersync_events_total", [("tenant", t.id), ("source", "zendesk"), ("type", type), ("outcome", outcome)])
                                         if let latency { metrics.observe("usersync_apply_latency_seconds", [("tenant", t.id), ("source", "zendesk")], latency) }
                                     })
                applier = a
                writer = sharedWriter()
                writer?.onStored(.zendesk) { a.wake() }
                if let client {
                    scheduler = Scheduler(tenant: t.id, source: .zendesk, directory: directory, schedule: z.reconcile,
                                          runNow: justEnabled.contains(.zendesk), retryAfter: Int64(z.reconcile.retry),
                                          log: log, metrics: metrics) {
                        Reconciler(directory: directory, source: client, settings: z.settings, licenceLimit: t.licenceLimit,
                                   maxDeactivations: z.maxDeactivations)
                    }
                }
            }
            sources[.zendesk] = SourceRuntime(kind: .zendesk, enabled: enabled, secrets: secrets, writer: writer,
                                              applier: applier, scheduler: scheduler)
        }
        return TenantRuntime(config: t, directory: directory, writer: tenantWriter, sources: sources)
    }
}
