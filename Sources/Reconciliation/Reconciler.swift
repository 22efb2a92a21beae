import Desks
import Directory
import FoundationEssentials
import SyncRules

/// What a run did, as `reconcile` prints it and `status` shows it.
public struct RunReport: Sendable {
    public var runID: Int64
    public var kind: RunRecord.Kind
    public var outcome: RunRecord.Outcome
    public var pages: Int
    public var counts: SyncCounts
    public var error: String?
    public var seconds: Double
    /// Set when the run did not start because another run holds the lease.
    public var refusedBy: RunLease?
}

/// Progress of a running listing, for a terminal progress line or log lines.
public struct RunProgress: Sendable {
    public var pages: Int
    public var users: Int
    public var seconds: Double
    public var rate: Double { seconds > 0 ? Double(users) / seconds : 0 }
}

/// Runs reconciliation for one tenant and source: streams the source's listing page by
/// page into the directory through the sync rules, then deactivates linked users the
/// listing lacked — only when the listing completed, and only within the
/// mass-deactivation guard unless an admin confirms.
public struct Reconciler: Sendable {
    public let directory: TenantDirectory
    public let source: any Source
    public let settings: SyncSettings
    public let licenceLimit: Int
    public let maxDeactivations: Int?
    public let progress: (@Sendable (RunProgress) -> Void)?
    /// Who this run's lease names (`PID@HOST ROLE`).
    public var owner = RunOwner.current(role: "cli")
    /// How long the lease lasts without a heartbeat; beats come at a third of it.
    public var leaseSeconds: Int64 = 120
    /// Users applied per transaction: a few pages' worth amortises the commit (and its
    /// fsync) while memory stays bounded by this number, whatever the tenant's size.
    /// 250, not 1,000: a 100,000-user re-run peaked at 23.8 MB instead of 25.8 MB (its
    /// prefetched links are a batch's biggest allocation), a first import at 23.5-24.0 MB
    /// instead of 24.5, for the same instruction count within 0.3%.
    public var batchSize = 250

    public init(directory: TenantDirectory, source: any Source, settings: SyncSettings, licenceLimit: Int,
                maxDeactivations: Int?, progress: (@Sendable (RunProgress) -> Void)? = nil) {
        self.directory = directory
        self.source = source
        self.settings = settings
        self.licenceLimit = licenceLimit
        self.maxDeactivations = maxDeactivations
        self.progress = progress
    }

    /// A full run. Never throws: failures are in the report (and the run row). A run that
    /// is cancelled (the scheduler stopping) stops between pages and deactivates nobody.
    public func runFull(confirmDeactivations: Bool = false) async -> RunReport {
        let started = Date()
        let startUnix = Int64(started.timeIntervalSince1970)
        var counts = SyncCounts()
        var pages = 0
        let run: RunStart
        do {
            run = try directory.startFullRun(source: settings.source, owner: owner, ttl: leaseSeconds)
        } catch let e as DirectoryError {
            var report = RunReport(runID: 0, kind: .full, outcome: .failed, pages: 0, counts: counts, error: e.message, seconds: 0)
            if case .leaseHeld(let lease) = e.reason { report.refusedBy = lease }
            return report
        } catch {
            return RunReport(runID: 0, kind: .full, outcome: .failed, pages: 0, counts: counts, error: "\(error)", seconds: 0)
        }
        let runID = run.runID
        let lease = LeaseKeeper(directory: directory, runID: runID, source: settings.source, ttl: leaseSeconds)
        defer { lease.stop() }
        do {
            var pending: [Evidence] = []
            pending.reserveCapacity(batchSize + 100)
            var recorded = started
            func flush() throws {
                guard !pending.isEmpty else { return }
                try lease.check()
                let decisions = try directory.apply(pending, settings: settings, licenceLimit: licenceLimit,
                                                    mode: .deferred(runID: runID))
                for d in decisions { counts.add(d) }
                pending.removeAll(keepingCapacity: true)
            }
            // With no link yet (a first import) no user can be skipped: decode as pages come.
            let eager = try directory.linkedCount(source: settings.source) == 0
            try await source.listUsers(decodeEagerly: eager) { users in
                try Task.checkCancellation()
                pages += 1
                counts.fetched += users.count
                let decode = users.decoder
                for i in 0..<users.count {
                    pending.append(eager
                        ? Evidence(.seen(try users.user(at: i)), cause: .run(runID), digest: users.digests[i])
                        : .listed(id: users.ids[i], digest: users.digests[i], cause: .run(runID), index: i, decode: decode))
                }
                if pending.count >= batchSize { try flush() }
                progress?(RunProgress(pages: pages, users: counts.fetched, seconds: Date().timeIntervalSince(started)))
                // Progress for `status`: every 50 pages, and at least every 5 s on a slow source.
                if pages % 50 == 0 || Date().timeIntervalSince(recorded) >= 5 {
                    try directory.recordRun(runID, pages: pages, counts: counts)
                    recorded = Date()
                }
            }
            try Task.checkCancellation()
            try flush()
            try await markAuthHealthy()
        } catch {
            let why = error is CancellationError ? "cancelled: the service is stopping or reloading its config" : "\(error)"
            let message = "stopped at page \(pages + 1) after \(counts.fetched) users: \(why)"
            await noteAuth(error)
            try? directory.recordRun(runID, pages: pages, counts: counts, outcome: .failed, error: message)
            return RunReport(runID: runID, kind: .full, outcome: .failed, pages: pages, counts: counts, error: message,
                             seconds: Date().timeIntervalSince(started))
        }
        do {
            // The listing completed: linked users it lacked are gone from the source.
            var after = ""
            while true {
                try lease.check()
                let missing = try directory.missingFromListing(run, source: settings.source, after: after)
                guard let last = missing.last else { break }
                after = last
                for d in try directory.apply(missing.map { Evidence(.missingFromListing(sourceUserID: $0), cause: .run(runID)) },
                                             settings: settings, licenceLimit: licenceLimit, mode: .deferred(runID: runID)) {
                    counts.add(d)
                }
            }
            try lease.check()
            let linked = try directory.linkedCount(source: settings.source)
            let limit = Rules.deactivationLimit(configured: maxDeactivations, linkedUsers: linked)
            let settled = try directory.settleDeactivations(runID: runID, source: settings.source, limit: limit,
                                                            confirm: confirmDeactivations)
            counts.deactivated += settled.applied
            counts.held = settled.held
            let outcome: RunRecord.Outcome = settled.held > 0 ? .held : .completed
            let note = settled.held > 0
                ? "\(settled.held) deactivations held: more than max_deactivations (\(limit)); confirm with --confirm-deactivations"
                : nil
            try directory.recordRun(runID, pages: pages, counts: counts, outcome: outcome, error: note)
            try directory.updateSourceState(settings.source) { state in
                if state.incrementalCursor == nil { state.incrementalCursor = "start:\(startUnix - 60)" }
            }
            return RunReport(runID: runID, kind: .full, outcome: outcome, pages: pages, counts: counts, error: note,
                             seconds: Date().timeIntervalSince(started))
        } catch {
            try? directory.recordRun(runID, pages: pages, counts: counts, outcome: .failed, error: "\(error)")
            return RunReport(runID: runID, kind: .full, outcome: .failed, pages: pages, counts: counts, error: "\(error)",
                             seconds: Date().timeIntervalSince(started))
        }
    }

    /// An incremental catch-up from the stored cursor. It applies changed users through the
    /// same rules and never deactivates anyone for being absent.
    public func runIncremental() async -> RunReport {
        let started = Date()
        var counts = SyncCounts()
        var pages = 0
        let runID: Int64
        do {
            runID = try directory.startIncrementalRun(source: settings.source, owner: owner)
        } catch {
            return RunReport(runID: 0, kind: .incremental, outcome: .failed, pages: 0, counts: counts, error: "\(error)", seconds: 0)
        }
        do {
            let stored = try directory.sourceState(settings.source).incrementalCursor
            var cursor: String? = stored
            var start = Int64(started.timeIntervalSince1970) - 3600
            if let s = stored, s.hasPrefix("start:") {
                start = Int64(s.dropFirst(6)) ?? start
                cursor = nil
            }
            let next = try await source.changedUsers(since: cursor, start: start) { users in
                pages += 1
                counts.fetched += users.count
                for d in try directory.apply(users.map { Evidence(.seen($0), cause: .run(runID)) }, settings: settings,
                                             licenceLimit: licenceLimit, mode: .immediate) {
                    counts.add(d)
                }
            }
            try directory.updateSourceState(settings.source) { $0.incrementalCursor = next }
            try await markAuthHealthy()
            try directory.recordRun(runID, pages: pages, counts: counts, outcome: .completed)
            return RunReport(runID: runID, kind: .incremental, outcome: .completed, pages: pages, counts: counts, error: nil,
                             seconds: Date().timeIntervalSince(started))
        } catch {
            await noteAuth(error)
            try? directory.recordRun(runID, pages: pages, counts: counts, outcome: .failed, error: "\(error)")
            return RunReport(runID: runID, kind: .incremental, outcome: .failed, pages: pages, counts: counts, error: "\(error)",
                             seconds: Date().timeIntervalSince(started))
        }
    }

    private func markAuthHealthy() async throws {
        if try directory.sourceState(settings.source).authBroken {
            try directory.updateSourceState(settings.source) { $0.authBroken = false; $0.authError = nil }
        }
    }

    private func noteAuth(_ error: any Error) async {
        guard let e = error as? SourceError, e.isAuthBroken else { return }
        try? directory.updateSourceState(settings.source) { $0.authBroken = true; $0.authError = e.description }
    }
}
