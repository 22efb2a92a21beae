import Config
import Directory
import Dispatch
import FoundationEssentials
import Reconciliation
import SyncRules

/// Runs one tenant-source's reconciliations: the initial import at once when the source
/// has never completed a full run (or was just enabled), full runs every `every` (anchored
/// at `at` UTC when given), incremental catch-ups between them, and runs asked for through
/// the admin API. One run at a time.
final class Scheduler: @unchecked Sendable {
    let label: String
    private let directory: TenantDirectory
    private let schedule: ReconcileSchedule
    private let makeReconciler: @Sendable () -> Reconciler
    private let log: Log
    private let metrics: Metrics
    private let tenant: String
    private let source: SourceKind
    private let lock = Lock()
    private var stopped = false
    private var requested: Bool?
    private var runNow: Bool
    private var task: Task<Void, Never>?
    private(set) var running = false

    init(tenant: String, source: SourceKind, directory: TenantDirectory, schedule: ReconcileSchedule, runNow: Bool,
         log: Log, metrics: Metrics, makeReconciler: @escaping @Sendable () -> Reconciler) {
        self.tenant = tenant
        self.source = source
        self.label = "\(tenant)/\(source.rawValue)"
        self.directory = directory
        self.schedule = schedule
        self.runNow = runNow
        self.log = log
        self.metrics = metrics
        self.makeReconciler = makeReconciler
    }

    func start() {
        task = Task.detached { [self] in await loop() }
    }

    func stop() {
        lock.withLock { stopped = true }
        task?.cancel()
    }

    /// Asks for a full run now; false when one is already running.
    func trigger(confirmDeactivations: Bool) -> Bool {
        lock.withLock {
            if running { return false }
            requested = confirmDeactivations
            return true
        }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// The next full run after one that started at `last` (unix seconds).
    static func nextFull(after last: Int64, schedule: ReconcileSchedule) -> Int64 {
        let every = Int64(schedule.every)
        guard let at = schedule.at else { return last + every }
        let anchor = Int64(at) * 60
        // Anchor + k·every, the first after `last` (and at least a tenth of a period away).
        let k = (last - anchor) / every + 1
        var next = anchor + k * every
        while next <= last + every / 10 { next += every }
        return next
    }

    private func loop() async {
        while !isStopped {
            let now = Int64(Date().timeIntervalSince1970)
            let runs = (try? directory.runs(source: source, limit: 50)) ?? []
            let lastFull = runs.first { $0.kind == .full && $0.outcome != .running }
            let lastCompleteFull = runs.first { $0.kind == .full && ($0.outcome == .completed || $0.outcome == .held) }
            let lastIncremental = runs.first { $0.kind == .incremental }
            // Known after a restart too, so "no successful run" alerts need no first run here.
            if let done = lastCompleteFull?.finishedAt.flatMap({ Timestamp(iso8601: $0) }) {
                metrics.set("usersync_reconcile_last_success_timestamp_seconds", [("tenant", tenant), ("source", source.rawValue)],
                            Double(done.seconds))
            }
            var due: (full: Bool, confirm: Bool)?
            if let confirm = lock.withLock({ () -> Bool? in
                let r = requested
                requested = nil
                return r
            }) {
                due = (true, confirm)
            } else if runNow || lastCompleteFull == nil {
                due = (true, false)
            } else {
                let lastFullStart = lastFull.flatMap { Timestamp(iso8601: $0.startedAt)?.seconds } ?? 0
                let nextFull = Self.nextFull(after: lastFullStart, schedule: schedule)
                var next = nextFull
                if let every = schedule.incrementalEvery {
                    let lastInc = max(lastIncremental.flatMap { Timestamp(iso8601: $0.startedAt)?.seconds } ?? 0,
                                      lastCompleteFull.flatMap { Timestamp(iso8601: $0.startedAt)?.seconds } ?? 0)
                    let nextInc = lastInc + Int64(every)
                    if nextInc < next {
                        next = nextInc
                        if now >= nextInc { due = (false, false) }
                    }
                }
                if due == nil && now >= nextFull { due = (true, false) }
                if due == nil {
                    await sleep(until: next)
                    continue
                }
            }
            guard let (full, confirm) = due else { continue }
            runNow = false
            lock.withLock { running = true }
            // A failed first import must not spin: a failed full run waits a minute.
            await run(full: full, confirm: confirm)
            lock.withLock { running = false }
            if full, let r = try? directory.runs(source: source, limit: 1).first, r.outcome == .failed {
                await sleep(until: Int64(Date().timeIntervalSince1970) + 60)
            }
        }
    }

    private func run(full: Bool, confirm: Bool) async {
        let reconciler = makeReconciler()
        log.info(full ? "reconciliation started" : "incremental catch-up started", ["tenant": tenant, "source": source.rawValue])
        let report = full ? await reconciler.runFull(confirmDeactivations: confirm) : await reconciler.runIncremental()
        var fields = ["tenant": tenant, "source": source.rawValue, "run": String(report.runID), "kind": report.kind.rawValue,
                      "outcome": report.outcome.rawValue, "pages": String(report.pages), "seconds": decimals(report.seconds, 2)]
        for (k, v) in report.counts.fields { fields[k] = String(v) }
        if let e = report.error { fields["error"] = e }
        if report.outcome == .failed { log.warn("reconciliation failed", fields) } else { log.info("reconciliation finished", fields) }
        metrics.increment("usersync_reconcile_runs_total", [("tenant", tenant), ("source", source.rawValue),
                                                            ("kind", report.kind.rawValue), ("outcome", report.outcome.rawValue)])
        if full && report.outcome != .failed {
            metrics.set("usersync_reconcile_last_success_timestamp_seconds", [("tenant", tenant), ("source", source.rawValue)],
                        Date().timeIntervalSince1970)
        }
    }

    private func sleep(until deadline: Int64) async {
        while !isStopped, Int64(Date().timeIntervalSince1970) < deadline {
            if lock.withLock({ requested != nil }) { return }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
