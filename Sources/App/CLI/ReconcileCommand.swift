import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import Reconciliation
import SyncRules

/// `reconcile`: runs a full (or `--incremental`) reconciliation now, in the foreground.
enum ReconcileCommand {
    static func run(_ words: [String], _ ctx: inout Context) async throws {
        let confirm = ctx.args.flag("--confirm-deactivations")
        let incremental = ctx.args.flag("--incremental")
        let json = ctx.args.flag("--json")
        let only = try ctx.source()
        let tenants = try ctx.tenants()
        try ctx.args.rejectUnknown(words: 1)
        var reports: [JSONText] = []
        var failed = false
        var ran = 0
        for tenant in tenants {
            let targets: [SourceKind] = only.map { [$0] } ?? DeskRegistry.all.map(\.kind)
            for kind in targets {
                guard let z = tenant.source(kind) else {
                    // Across every tenant, `--source` runs the tenants that have it.
                    if only != nil && tenants.count == 1 {
                        throw OperationalError("tenant \(tenant.id): \(kind.rawValue) is not configured")
                    }
                    continue
                }
                guard z.enabled else {
                    if only != nil || tenants.count == 1 { ctx.console.error("tenant \(tenant.id): \(kind.rawValue) sync is disabled; nothing to do") }
                    continue
                }
                guard tenant.integrationsAllowed else { throw OperationalError("tenant \(tenant.id): the 'integrations' feature is required") }
                let label = "\(tenant.id)/\(kind.rawValue)"
                let console = ctx.console
                let directory = try ctx.directory(tenant)
                let source = try SourceFactory(log: { console.error("\(label): \($0)") }).source(kind, tenant: tenant, directory: directory)
                let progress: @Sendable (RunProgress) -> Void = { p in
                    let line = "\(label): \(p.users) users, \(p.pages) pages, \(Int(p.rate)) users/s"
                    if console.isTerminal { console.progress(line) } else if p.pages % 50 == 0 { console.error(line) }
                }
                let reconciler = Reconciler(directory: directory, source: source, settings: z.settings, licenceLimit: tenant.licenceLimit,
                                            maxDeactivations: z.maxDeactivations, progress: progress)
                let report = incremental ? await reconciler.runIncremental() : await reconciler.runFull(confirmDeactivations: confirm)
                if console.isTerminal { console.progress("") }
                ran += 1
                if report.outcome == .failed { failed = true }
                if json {
                    reports.append(.object([("tenant", .string(tenant.id)), ("source", .string(kind.rawValue)), ("run", .int(report.runID)),
                                            ("kind", .string(report.kind.rawValue)), ("outcome", .string(report.outcome.rawValue)),
                                            ("pages", .int(report.pages)), ("seconds", .string(decimals(report.seconds, 3))),
                                            ("counts", Render.counts(report.counts)), ("error", .string(report.error))]))
                } else if report.runID == 0, let e = report.error {
                    // No run was started (the lease is held, or the store refused): no counts.
                    console.print("\(label): \(e)")
                } else {
                    let c = report.counts
                    console.print("\(label): run #\(report.runID) \(report.kind.rawValue) \(report.outcome.rawValue) in \(decimals(report.seconds, 1))s — "
                        + "fetched \(c.fetched), created \(c.created), linked \(c.linked), renamed \(c.renamed), email changes \(c.emailChanged), "
                        + "deactivated \(c.deactivated), restored \(c.restored), unchanged \(c.unchanged), conflicts \(c.conflicts), held \(c.held)")
                    if let e = report.error { console.print("\(label): \(e)") }
                }
            }
        }
        if json { ctx.console.print(JSONText.array(reports).render(indent: 2)) }
        if failed { throw OperationalError("reconciliation failed") }
        if ran == 0 { throw OperationalError("no enabled source to reconcile") }
    }
}
