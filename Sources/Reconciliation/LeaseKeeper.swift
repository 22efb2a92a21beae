import Directory
import Dispatch
import Synchronization
import SyncRules

/// Keeps a full run's lease alive while the run waits on the source (a 429 can pause a
/// listing for minutes): it beats at a third of the lease's life on its own thread, and
/// remembers when the lease was lost so the run stops before writing as if it held it.
/// (Unchecked: the timer is created once and only cancelled; the lost error is in a Mutex.)
final class LeaseKeeper: @unchecked Sendable {
    private let directory: TenantDirectory
    private let runID: Int64
    private let source: SourceKind
    private let ttl: Int64
    private let lost = Mutex<DirectoryError?>(nil)
    private let timer: DispatchSourceTimer

    init(directory: TenantDirectory, runID: Int64, source: SourceKind, ttl: Int64) {
        self.directory = directory
        self.runID = runID
        self.source = source
        self.ttl = ttl
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        let every = DispatchTimeInterval.milliseconds(Int(max(1, ttl)) * 1000 / 3)
        timer.schedule(deadline: .now() + every, repeating: every)
        timer.setEventHandler { [self] in beat() }
        timer.resume()
    }

    private func beat() {
        do {
            try directory.heartbeat(runID: runID, source: source, ttl: ttl)
        } catch let e as DirectoryError {
            if case .leaseHeld = e.reason { lost.withLock { $0 = e } }
        } catch {}
    }

    /// Throws when the lease passed to another run.
    func check() throws {
        if let e = lost.withLock({ $0 }) { throw e }
    }

    func stop() { timer.cancel() }
}
