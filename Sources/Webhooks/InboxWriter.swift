import Directory
import Dispatch
import Glibc
import Synchronization
import SyncRules

/// Group commit for one tenant's inbox, on the tenant's own writer thread: events that
/// arrive while a commit runs are inserted together in the next transaction and share one
/// fsync; each delivery is answered only after the commit that stores it.
///
/// The event loops only queue (a short mutex, no SQLite) and get their answers back through
/// the completion, so a locked database never stalls a loop. A batch waits for the write
/// lock at most `commitWithin` seconds counted from its oldest delivery's arrival (a
/// CLI `reconcile` or another process holding `BEGIN IMMEDIATE`); past that it fails as
/// `storeUnavailable`, nothing of it is stored, and the receiver answers 503. Past
/// `maxQueued` waiting events it refuses at once.
public final class InboxWriter: @unchecked Sendable {
    public typealias Completion = @Sendable (Result<Bool, any Error>) -> Void

    public struct Overloaded: Error, CustomStringConvertible {
        public var description: String { "inbox overloaded" }
    }

    public struct Stopped: Error, CustomStringConvertible {
        public var description: String { "inbox writer stopped" }
    }

    private struct Pending {
        var event: NewInboxEvent
        var arrived: Double
        var completion: Completion
    }

    private struct State {
        var queue: [Pending] = []
        var stopped = false
        var wakers: [SourceKind: @Sendable () -> Void] = [:]
    }

    private let directory: TenantDirectory
    private let maxQueued: Int
    private let commitWithin: Double
    private let state = Mutex(State())
    private let work = Wakeup()
    private var finished: DispatchSemaphore?

    public init(directory: TenantDirectory, maxQueued: Int = 20_000, commitWithin: Double = 1.5) {
        self.directory = directory
        self.maxQueued = maxQueued
        self.commitWithin = commitWithin
    }

    /// `wake` runs after a commit that stored a new event of `source` (its applier).
    public func onStored(_ source: SourceKind, _ wake: @escaping @Sendable () -> Void) {
        state.withLock { $0.wakers[source] = wake }
    }

    /// Queues an event; `completion` runs on the writer thread after the commit that stores
    /// it, or at once when refused.
    public func submit(_ event: NewInboxEvent, completion: @escaping Completion) {
        let maxQueued = self.maxQueued
        let now = Self.monotonic()
        var first = false
        let refusal: (any Error)? = state.withLock { s -> (any Error)? in
            if s.stopped { return Stopped() }
            if s.queue.count >= maxQueued { return Overloaded() }
            s.queue.append(Pending(event: event, arrived: now, completion: completion))
            first = s.queue.count == 1
            return nil
        }
        if let refusal { completion(.failure(refusal)) }
        if first { work.raise() }
    }

    /// Starts the writer thread.
    public func start() {
        guard finished == nil else { return }
        finished = BlockingThread.spawn { [self] in run() }
    }

    /// Stores what is queued, refuses anything after, and waits for the thread to finish.
    public func stop() {
        state.withLock { $0.stopped = true }
        work.raise()
        if let finished {
            finished.wait()
            self.finished = nil
        } else {
            while commitNext() {}
        }
    }

    private func run() {
        while true {
            if commitNext() { continue }
            if state.withLock({ $0.stopped && $0.queue.isEmpty }) { return }
            work.wait(seconds: 1)
        }
    }

    /// Commits everything queued now in one transaction; false when nothing was queued.
    private func commitNext() -> Bool {
        let (batch, wakers) = state.withLock { s in
            let out = s.queue
            s.queue.removeAll(keepingCapacity: true)
            return (out, s.wakers)
        }
        guard let oldest = batch.first?.arrived else { return false }
        let left = max(0, commitWithin - (Self.monotonic() - oldest))
        do {
            let results = try directory.store(batch.map(\.event), within: left)
            for (item, new) in zip(batch, results) { item.completion(.success(new)) }
            var stored = Set<SourceKind>()
            for (item, new) in zip(batch, results) where new { stored.insert(item.event.source) }
            for source in stored { wakers[source]?() }
        } catch {
            for item in batch { item.completion(.failure(error)) }
        }
        return true
    }

    private static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
