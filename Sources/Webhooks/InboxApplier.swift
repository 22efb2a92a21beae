import Desks
import Directory
import Dispatch
import FoundationEssentials
import Synchronization
import SyncRules

/// Applies a tenant's stored events for one source, in arrival order, through the same
/// rules as reconciliation. Events whose own data suffices are applied in batches at once;
/// the others fetch the user first. A failed fetch leaves the event open and retries it
/// with backoff (reconciliation repairs whatever still slips through). On start, events
/// stored before a crash are applied.
public final class InboxApplier: @unchecked Sendable {
    public struct Settings: Sendable {
        public var sync: SyncSettings
        public var licenceLimit: Int
        public init(sync: SyncSettings, licenceLimit: Int) {
            self.sync = sync
            self.licenceLimit = licenceLimit
        }
    }

    /// One applied (or settled) event, for metrics: type, outcome, seconds from receipt.
    public typealias Observer = @Sendable (_ type: String, _ outcome: String, _ latency: Double?) -> Void

    private let directory: TenantDirectory
    private let source: (any Source)?
    private let settings: Settings
    private let log: @Sendable (String) -> Void
    private let observer: Observer
    private let wakeup = Wakeup()
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

    public init(directory: TenantDirectory, source: (any Source)?, settings: Settings,
                log: @escaping @Sendable (String) -> Void, observer: @escaping Observer = { _, _, _ in }) {
        self.directory = directory
        self.source = source
        self.settings = settings
        self.log = log
        self.observer = observer
    }

    public func start() {
        started.store(true, ordering: .relaxed)
        Task.detached { [self] in
            await loop()
            finished.signal()
        }
    }

    /// New events were stored.
    public func wake() { wakeup.raise() }

    public func stop() {
        stopping.store(true, ordering: .releasing)
        wakeup.raise()
        if started.load(ordering: .relaxed) { finished.wait() }
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Waits (off the cooperative pool) until woken, stopped, or `seconds` pass.
    private func sleep(_ seconds: Double) async {
        await withCheckedContinuation { (k: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [self] in
                wakeup.wait(seconds: seconds)
                k.resume()
            }
        }
    }

    private func loop() async {
        let kind = settings.sync.source
        while !isStopping {
            let now = Int64(Date().timeIntervalSince1970)
            let events: [InboxEvent]
            do {
                events = try directory.openEvents(source: kind, limit: 500, now: now)
            } catch {
                log("inbox read failed: \(error)")
                await sleep(1)
                continue
            }
            if events.isEmpty {
                let retry = (try? directory.nextRetry(source: kind)).flatMap { $0 }
                await sleep(retry.map { max(0.05, Double($0 - now)) }.map { min($0, 5) } ?? 5)
                continue
            }
            await apply(events)
        }
    }

    private func apply(_ events: [InboxEvent]) async {
        var batch: [Evidence] = []
        var seqs: [Int64] = []
        var types: [(String, String)] = []
        var users: Set<String> = []
        var settled: [(Int64, String, String)] = []

        func flush() {
            guard !batch.isEmpty || !settled.isEmpty else { return }
            do {
                if !batch.isEmpty {
                    _ = try directory.apply(batch, settings: settings.sync, licenceLimit: settings.licenceLimit, mode: .immediate,
                                            completing: seqs)
                }
                for (seq, note, _) in settled { try directory.markApplied([seq], note: note) }
                for (type, received) in types { observer(type, "applied", latency(received)) }
                for (_, _, type) in settled { observer(type, "no_effect", nil) }
            } catch {
                log("applying \(batch.count) events failed: \(error)")
            }
            batch.removeAll()
            seqs.removeAll()
            types.removeAll()
            users.removeAll()
            settled.removeAll()
        }

        for ev in events {
            if isStopping { break }
            let decoded: ZendeskEvent
            do {
                decoded = try ZendeskEvent.decode(ev.body)
            } catch {
                flush()
                try? directory.markApplied([ev.seq], status: "ignored", note: "malformed: \(error)")
                continue
            }
            if let uid = decoded.userID, users.contains(uid) { flush() }
            let snapshot = decoded.userID.flatMap { try? directory.linkSnapshot(source: settings.sync.source, sourceUserID: $0) }
            switch EventInterpreter.interpret(decoded, snapshot: snapshot, identifier: settings.sync.identifier) {
            case .observe(let o):
                batch.append(Evidence(o, cause: .event(settings.sync.source, ev.eventID)))
                seqs.append(ev.seq)
                types.append((ev.type, ev.receivedAt))
                users.insert(o.sourceUserID)
            case .noEffect(let note):
                settled.append((ev.seq, note, ev.type))
            case .fetch(let uid):
                flush()
                await fetchAndApply(ev, userID: uid)
            }
        }
        flush()
    }

    private func fetchAndApply(_ ev: InboxEvent, userID: String) async {
        guard let source else {
            try? directory.markFailed(ev.seq, error: "no source client (credentials missing)", retryAt: Int64(Date().timeIntervalSince1970) + 60)
            observer(ev.type, "failed", nil)
            return
        }
        do {
            let observation: Observation
            if let user = try await source.fetchUser(id: userID) {
                observation = .seen(user)
            } else {
                observation = .deleted(sourceUserID: userID, at: nil)
            }
            _ = try directory.apply([Evidence(observation, cause: .event(settings.sync.source, ev.eventID))],
                                    settings: settings.sync, licenceLimit: settings.licenceLimit, mode: .immediate, completing: [ev.seq])
            observer(ev.type, "applied", latency(ev.receivedAt))
        } catch {
            let attempts = ev.attempts + 1
            let delay = min(300, Int64(1) << Int64(min(attempts, 8)))
            try? directory.markFailed(ev.seq, error: "\(error)", retryAt: Int64(Date().timeIntervalSince1970) + delay)
            if let e = error as? SourceError, e.isAuthBroken {
                try? directory.updateSourceState(settings.sync.source) { $0.authBroken = true; $0.authError = e.description }
            }
            log("event \(ev.eventID): fetching user \(userID) failed (attempt \(attempts)), retrying in \(delay)s: \(error)")
            observer(ev.type, "failed", nil)
        }
    }

    private func latency(_ receivedAt: String) -> Double? {
        guard let t = Timestamp(iso8601: receivedAt) else { return nil }
        return max(0, Date().timeIntervalSince1970 - Double(t.nanoseconds) / 1e9)
    }
}
