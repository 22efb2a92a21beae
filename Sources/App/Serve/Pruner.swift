import Config
import Directory
import Dispatch
import FoundationEssentials
import Glibc
import SyncRules

/// Applies `retention`: deletes settled inbox events (and, when configured, audit rows)
/// older than their retention, a few hundred rows per short transaction with a pause
/// between, on its own timer, so the receiver and the appliers barely notice.
final class Pruner: @unchecked Sendable {
    private let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "usersync.prune"))
    private let runtimes: @Sendable () -> [TenantRuntime]
    private let retention: @Sendable () -> Retention
    private let log: Log

    init(runtimes: @escaping @Sendable () -> [TenantRuntime], retention: @escaping @Sendable () -> Retention, log: Log) {
        self.runtimes = runtimes
        self.retention = retention
        self.log = log
    }

    /// Sweeps every `min(1 h, half the shortest retention)`, the first soon after start.
    func start() {
        schedule()
        timer.setEventHandler { [self] in sweep() }
        timer.resume()
    }

    /// After a reload that changed `retention`: its interval from now on, the first sweep
    /// soon (a shorter retention would otherwise wait out the old interval, up to an hour).
    func reschedule() { schedule() }

    private func schedule() {
        let r = retention()
        let shortest = min(r.inbox, r.audit ?? Int.max)
        let every = max(1, min(3600, shortest / 2))
        timer.schedule(deadline: .now() + .seconds(min(every, 30)), repeating: .seconds(every))
    }

    func stop() { timer.cancel() }

    private func sweep() {
        let r = retention()
        let now = Date().timeIntervalSince1970
        let inboxCutoff = Timestamp(nanoseconds: Int64((now - Double(r.inbox)) * 1e9)).iso8601Milliseconds
        let auditCutoff = r.audit.map { Timestamp(nanoseconds: Int64((now - Double($0)) * 1e9)).iso8601Milliseconds }
        for rt in runtimes() {
            var events = 0, audits = 0
            do {
                while true {
                    let n = try rt.directory.pruneInbox(settledBefore: inboxCutoff)
                    events += n
                    if n == 0 { break }
                    usleep(20_000)
                }
                while let cutoff = auditCutoff {
                    let n = try rt.directory.pruneAudit(before: cutoff)
                    audits += n
                    if n == 0 { break }
                    usleep(20_000)
                }
            } catch {
                log.warn("retention sweep failed", ["tenant": rt.config.id, "error": "\(error)"])
            }
            if events + audits > 0 {
                log.info("retention sweep", ["tenant": rt.config.id, "events": String(events), "audit_rows": String(audits)])
            }
        }
    }
}
