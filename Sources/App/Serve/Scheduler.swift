import Config
import Directory
import Dispatch
import FoundationEssentials
import Reconciliation
import SyncRules
import Webhooks

/// Runs one tenant-source's reconciliations: the initial import at once when the source
/// has never completed a full run (or was just enabled), full runs every `every` (anchored
/// at `at` UTC when given), incremental catch-ups between them, and runs asked for through
/// the admin API. One run at a time: the run lease in the tenant database keeps a CLI run
/// or another process's scheduler from overlapping. A failed full run is retried after a
/// minute, doubling up to an hour, instead of waiting for the next anchor. `stop` cancels
/// a run between pages and waits for it.
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
    private let finished = DispatchSemaphore(value: 0)
    /// Raised by `requestStop` and `trigger`: the loop's waits end at once.
    private let wakeup = Wakeup()
    private(set) var running = false
    /// Consecutive failed full runs, for the retry backoff.
    private var failures = 0
    /// The next run last recorded for `status`: the loop looks every minute, and only a
    /// change is written (recording takes the tenant's write lock).
    private var planned: (at: Int64, kind: String)?
    private let owner = RunOwner.current(role: "serve")
    /// The first retry delay after a failed full run (then doubling, up to `maxRetry`).
    let firstRetry: Int64
    let maxRetry: Int64 = 3600

    /// Whether the source authenticates with a stored OAuth token, whose arrival ends a
    /// retry wait (other sources are not polled while they wait).
    let watchesToken: Bool

    init(tenant: String, source: SourceKind, directory: TenantDirectory, schedule: ReconcileSchedule, runNow: Bool,
         retryAfter: Int64 = 60, watchesToken: Bool = false, log: Log, metrics: Metrics,
         makeReconciler: @escaping @Sendable () -> Reconciler) {
        self.firstRetry = retryAfter
        self.watchesToken = watchesToken
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
        let t = Task.detached { [self] in
            await loop()
            finished.signal()
        }
        lock.withLock { task = t }
    }

    /// Cancels a running run (it stops between pages, deactivating nobody) and wakes the
    /// loop without waiting for it, so the schedulers of a reload or a shutdown stop
    /// together, not one after another (`waitStopped` then waits).
    func requestStop() {
        let t = lock.withLock { () -> Task<Void, Never>? in
            stopped = true
            return task
        }
        t?.cancel()
        wakeup.raise()
    }

    /// Waits for the loop to end, at most `stopWithin` seconds. Call from a thread that may
    /// block (not the cooperative pool).
    ///
    /// The bound is a safety net: in two of about ten CI runs a `serve` stopping after a
    /// reload waited here for good, its loop's task never resumed from a cancelled
    /// `Task.sleep` (cause not found). The loop now waits on `wakeup`, which `requestStop`
    /// raises, instead. A run left unfinished is safe: the next look at the source marks
    /// it abandoned once its process is gone or its lease expired.
    func waitStopped() {
        guard lock.withLock({ task }) != nil else { return }
        if finished.wait(timeout: .now() + Self.stopWithin) == .timedOut {
            log.warn("scheduler did not stop in time; its run is left to its lease",
                     ["tenant": tenant, "source": source.rawValue, "seconds": String(Int(Self.stopWithin))])
        }
    }

    static let stopWithin = 10.0

    /// Asks for a full run now; false when one is already running, here or in another
    /// process (the run lease).
    func trigger(confirmDeactivations: Bool) -> Bool {
        if (try? directory.runLease(source: source)) ?? nil != nil { return false }
        return lock.withLock {
            if running { return false }
            requested = confirmDeactivations
            wakeup.raise()
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
        var retryAt: Int64?
        (retryAt, failures) = pendingRetry()
        var tokenAtFailure = watchesToken ? storedToken() : nil
        while !isStopped {
            let now = Int64(Date().timeIntervalSince1970)
            var runs = (try? directory.runs(source: source, limit: 50)) ?? []
            // A run left `running` is ours only while we run one (not here): one that died
            // with its process is marked abandoned now. The loop looks at least once a
            // minute, so a run started and killed elsewhere (a CLI beside us) is seen too.
            var abandonedFull = false
            if runs.contains(where: { $0.outcome == .running }) {
                let abandoned = (try? directory.abandonDeadRuns(source: source)) ?? []
                for (id, kind) in abandoned {
                    log.warn("run abandoned: its process ended before the run did",
                             ["tenant": tenant, "source": source.rawValue, "run": String(id), "kind": kind.rawValue])
                    countRun(kind, .abandoned)
                    if let i = runs.firstIndex(where: { $0.id == id }) { runs[i].outcome = .abandoned }
                    abandonedFull = abandonedFull || kind == .full
                }
            }
            let lastFull = runs.first { $0.kind == .full && $0.outcome != .running }
            let lastCompleteFull = runs.first { $0.kind == .full && ($0.outcome == .completed || $0.outcome == .held) }
            // An abandoned run's work is undone (nobody it found missing was deactivated): it
            // is retried as a failed run is (with no full run ever completed, one starts at once).
            if abandonedFull, retryAt == nil, lastCompleteFull != nil { retryAt = now + firstRetry }
            let lastIncremental = runs.first { $0.kind == .incremental }
            // Known after a restart too, so "no successful run" alerts need no first run here.
            if let done = lastCompleteFull?.finishedAt.flatMap({ Timestamp(iso8601: $0) }) {
                metrics.set("usersync_reconcile_last_success_timestamp_seconds", [("tenant", tenant), ("source", source.rawValue)],
                            Double(done.seconds))
            }
            var due: (full: Bool, confirm: Bool)?
            var next: Int64 = now
            var nextKind = "full"
            var wakeBy: Int64?
            if let confirm = lock.withLock({ () -> Bool? in
                let r = requested
                requested = nil
                return r
            }) {
                due = (true, confirm)
            } else if let at = retryAt {
                // A failed full run: retried with backoff, incremental passes paused meanwhile;
                // at once when a new token was stored since (`connect` run from the CLI).
                next = at
                if watchesToken { wakeBy = min(at, now + 5) }
                if now >= at || (watchesToken && tokenChanged(since: tokenAtFailure)) { due = (true, false) }
            } else if runNow || lastCompleteFull == nil {
                due = (true, false)
            } else {
                let lastFullStart = lastFull.flatMap { Timestamp(iso8601: $0.startedAt)?.seconds } ?? 0
                let nextFull = Self.nextFull(after: lastFullStart, schedule: schedule)
                next = nextFull
                if let every = schedule.incrementalEvery {
                    let lastInc = max(lastIncremental.flatMap { Timestamp(iso8601: $0.startedAt)?.seconds } ?? 0,
                                      lastCompleteFull.flatMap { Timestamp(iso8601: $0.startedAt)?.seconds } ?? 0)
                    let nextInc = lastInc + Int64(every)
                    if nextInc < next {
                        next = nextInc
                        nextKind = "incremental"
                        if now >= nextInc { due = (false, false) }
                    }
                }
                if due == nil && now >= nextFull { due = (true, false) }
            }
            guard let (full, confirm) = due else {
                plan(next, kind: nextKind)
                await sleep(until: min(wakeBy ?? next, now + 60))
                continue
            }
            runNow = false
            plan(now, kind: full ? "full" : "incremental")
            lock.withLock { running = true }
            let report = await run(full: full, confirm: confirm)
            lock.withLock { running = false }
            guard full, !isStopped else { continue }
            if report.outcome == .failed {
                let delay = report.refusedBy != nil ? firstRetry : backoff(after: failures)
                if report.refusedBy == nil { failures += 1 }
                retryAt = Int64(Date().timeIntervalSince1970) + delay
                if watchesToken { tokenAtFailure = storedToken() }
                log.info("full run will be retried", ["tenant": tenant, "source": source.rawValue, "in_seconds": String(delay)])
            } else {
                failures = 0
                retryAt = nil
            }
        }
    }

    /// The OAuth access token stored for the source (nil for other auth): a different one
    /// than when a run failed means someone connected (or reconnected) it since.
    private func storedToken() -> String? { (try? directory.sourceState(source))?.oauthAccessToken }

    private func tokenChanged(since failed: String?) -> Bool {
        guard let now = storedToken() else { return false }
        return now != failed
    }

    /// After a restart, the retry a failed (or abandoned) full run was waiting for and the
    /// failures in a row behind it: those at the head of the source's full runs set the backoff, counted
    /// from the last one's end (kept in memory only, a restart would otherwise wait for the
    /// next anchor: a day for a nightly run). No retry when the last full run did not fail,
    /// or none ever completed (the initial import then starts at once anyway).
    private func pendingRetry() -> (at: Int64?, failures: Int) {
        let fulls = ((try? directory.runs(source: source, limit: 50)) ?? []).filter { $0.kind == .full && $0.outcome != .running }
        let failed = fulls.prefix { $0.outcome == .failed || $0.outcome == .abandoned }
        guard let last = failed.first, fulls.count > failed.count,
              let ended = last.finishedAt.flatMap({ Timestamp(iso8601: $0)?.seconds }) else { return (nil, failures) }
        return (ended + backoff(after: failed.count - 1), failed.count)
    }

    /// The wait before retrying a full run after `failures` earlier failures in a row.
    private func backoff(after failures: Int) -> Int64 {
        min(maxRetry, firstRetry << Int64(min(failures, 12)))
    }

    /// Records the next planned run so `status` can show it.
    private func plan(_ at: Int64, kind: String) {
        if let p = planned, p.at == at, p.kind == kind { return }
        do {
            try directory.updateSourceState(source) { s in
                s.nextRunAt = at
                s.nextRunKind = kind
            }
            planned = (at, kind)
        } catch {}
    }

    private func run(full: Bool, confirm: Bool) async -> RunReport {
        var reconciler = makeReconciler()
        reconciler.owner = owner
        log.info(full ? "reconciliation started" : "incremental catch-up started", ["tenant": tenant, "source": source.rawValue])
        let report = full ? await reconciler.runFull(confirmDeactivations: confirm) : await reconciler.runIncremental()
        if let holder = report.refusedBy {
            log.info("reconciliation skipped: another run holds the lease",
                     ["tenant": tenant, "source": source.rawValue, "holder": holder.description])
            return report
        }
        var fields = ["tenant": tenant, "source": source.rawValue, "run": String(report.runID), "kind": report.kind.rawValue,
                      "outcome": report.outcome.rawValue, "pages": String(report.pages), "seconds": decimals(report.seconds, 2)]
        for (k, v) in report.counts.fields { fields[k] = String(v) }
        if let e = report.error { fields["error"] = e }
        if report.outcome == .failed { log.warn("reconciliation failed", fields) } else { log.info("reconciliation finished", fields) }
        countRun(report.kind, report.outcome)
        if full && report.outcome != .failed {
            metrics.set("usersync_reconcile_last_success_timestamp_seconds", [("tenant", tenant), ("source", source.rawValue)],
                        Date().timeIntervalSince1970)
        }
        return report
    }

    private func countRun(_ kind: RunRecord.Kind, _ outcome: RunRecord.Outcome) {
        metrics.increment("usersync_reconcile_runs_total", [("tenant", tenant), ("source", source.rawValue),
                                                            ("kind", kind.rawValue), ("outcome", outcome.rawValue)])
    }

    private func sleep(until deadline: Int64) async {
        while !isStopped, Int64(Date().timeIntervalSince1970) < deadline {
            if lock.withLock({ requested != nil }) { return }
            await wakeup.waitAsync(seconds: 0.25)
            if Task.isCancelled { return }
        }
    }
}
