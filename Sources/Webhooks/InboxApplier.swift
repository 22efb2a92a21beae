import Desks
import Directory
import Dispatch
import FoundationEssentials
import Synchronization
import SyncRules

/// Applies a tenant's stored events for one source, in arrival order, through the same
/// rules as reconciliation. Events whose own data suffices are applied in batches at once
/// (a linked user's next event in the same batch is read against the snapshot the one
/// before it leaves, so a burst about one user is still one transaction); the others
/// fetch the user first. When a batch fails, its events are retried one at a
/// time; one that keeps failing (a poison event) is retried with capped exponential
/// backoff and, after `maxAttempts`, marked `failed` for good while the events behind it
/// flow on (reconciliation repairs its user). Store outages back the whole applier off
/// without counting attempts. On start, events stored before a crash are applied.
public final class InboxApplier: @unchecked Sendable {
    public struct Settings: Sendable {
        public var sync: SyncSettings
        public var licenceLimit: Int
        /// Attempts before an event is marked `failed`.
        public var maxAttempts: Int
        /// The first retry's delay in seconds; each next one doubles, up to `maxRetryDelay`.
        public var retryDelay: Double
        public var maxRetryDelay: Double
        public init(sync: SyncSettings, licenceLimit: Int, maxAttempts: Int = 8, retryDelay: Double = 1,
                    maxRetryDelay: Double = 300) {
            self.sync = sync
            self.licenceLimit = licenceLimit
            self.maxAttempts = maxAttempts
            self.retryDelay = retryDelay
            self.maxRetryDelay = maxRetryDelay
        }
    }

    /// One applied (or settled) event, for metrics: type, outcome, seconds from receipt.
    public typealias Observer = @Sendable (_ type: String, _ outcome: String, _ latency: Double?) -> Void

    private let directory: TenantDirectory
    private let format: any WebhookFormat
    private let source: (any Source)?
    private let settings: Settings
    private let log: @Sendable (String) -> Void
    private let observer: Observer
    private let wakeup = Wakeup()
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

    /// `format` reads the stored events (the desk's); `source` fetches users when an event
    /// is too thin (nil when the desk's credentials are missing).
    public init(directory: TenantDirectory, format: any WebhookFormat, source: (any Source)?, settings: Settings,
                log: @escaping @Sendable (String) -> Void, observer: @escaping Observer = { _, _, _ in }) {
        self.directory = directory
        self.format = format
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

    /// Asks the loop to end after the batch it is applying; `waitStopped` waits for it, so
    /// many appliers can be asked first and waited for together.
    public func requestStop() {
        stopping.store(true, ordering: .releasing)
        wakeup.raise()
    }

    public func waitStopped() {
        if started.load(ordering: .relaxed) { finished.wait() }
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Open events read (and applied) in one round.
    private static let readLimit = 500
    /// Events applied in one transaction at most: the inbox's writer waits for the write
    /// lock while a batch holds it, and acknowledgements wait with it.
    private static let batchLimit = 64
    /// After a round that emptied the inbox, how long events may gather before the next
    /// read. A lone event is still applied the moment it is stored (the applier is waiting
    /// for it); under a burst this turns one fetch and one transaction per writer commit
    /// (a few dozen events) into one per few milliseconds of events.
    private static let gathering = Duration.milliseconds(5)

    /// Waits until woken, stopped, or `seconds` pass, holding no thread meanwhile.
    private func sleep(_ seconds: Double) async {
        await wakeup.waitAsync(seconds: seconds)
    }

    private func loop() async {
        let kind = settings.sync.source
        var storeBackoff = 0.0
        while !isStopping {
            let now = Int64(Date().timeIntervalSince1970)
            let events: [InboxEvent]
            do {
                events = try directory.openEvents(source: kind, limit: Self.readLimit, now: now)
            } catch {
                storeBackoff = min(30, max(0.25, storeBackoff * 2))
                log("inbox read failed, retrying in \(storeBackoff)s: \(error)")
                await sleep(storeBackoff)
                continue
            }
            if events.isEmpty {
                storeBackoff = 0
                let retry = (try? directory.nextRetry(source: kind)).flatMap { $0 }
                await sleep(retry.map { max(0.05, Double($0 - now)) }.map { min($0, 5) } ?? 5)
                continue
            }
            if await apply(events) {
                storeBackoff = 0
                if events.count < Self.readLimit, !isStopping { try? await Task.sleep(for: Self.gathering) }
            } else {
                storeBackoff = min(30, max(0.25, storeBackoff * 2))
                log("the store is unavailable; applying again in \(storeBackoff)s")
                await sleep(storeBackoff)
            }
        }
    }

    /// Applies a read of open events; false when the store itself failed (nothing about
    /// the events is known to be wrong, so no attempt is counted).
    private func apply(_ events: [InboxEvent]) async -> Bool {
        var batch: [Evidence] = []
        var batched: [InboxEvent] = []
        var users: Set<String> = []
        // For a linked user the batch already holds, the snapshot their link will hold once
        // the batch is applied: their next event is read against it, with no commit between.
        // Should the earlier event then be isolated (a conflict) or fail on its own, the later
        // one still carries its change: that is what the desk said after both.
        var following: [String: LinkSnapshot] = [:]
        var settled: [(InboxEvent, String)] = []
        var storeFailed = false

        func flush() {
            guard !storeFailed, !batch.isEmpty || !settled.isEmpty else { return }
            do {
                if !batch.isEmpty {
                    let decisions = try directory.apply(batch, settings: settings.sync, licenceLimit: settings.licenceLimit,
                                                        mode: .immediate, completing: batched.map { [$0.seq] })
                    settle(zip(batched, decisions).map { ([$0], $1) })
                }
            } catch let e as DirectoryError where e.isTransient {
                storeFailed = true
            } catch {
                log("applying \(batch.count) events failed, applying them one at a time: \(error)")
                for (ev, evidence) in zip(batched, batch) { applyAlone(ev, evidence) }
            }
            for (ev, note) in settled where !storeFailed {
                do {
                    try directory.markApplied([ev.seq], note: note)
                    observer(ev.type, "no_effect", nil)
                } catch {
                    storeFailed = true
                }
            }
            batch.removeAll()
            batched.removeAll()
            users.removeAll()
            following.removeAll()
            settled.removeAll()
        }

        var i = 0
        while i < events.count {
            let ev = events[i]
            i += 1
            if isStopping || storeFailed { break }
            if batch.count >= Self.batchLimit { flush() }
            var snapshot: LinkSnapshot?
            if let uid = ev.sourceUserID, users.contains(uid) {
                snapshot = following[uid]
                if snapshot == nil { flush() }
            }
            if snapshot == nil {
                do {
                    snapshot = try ev.sourceUserID.flatMap { try directory.linkSnapshot(source: settings.sync.source, sourceUserID: $0) }
                } catch {
                    storeFailed = true
                    break
                }
            }
            func interpret(_ e: InboxEvent) -> EventMeaning {
                format.interpret(e.body, snapshot: snapshot, identifier: settings.sync.identifier)
            }
            switch interpret(ev) {
            case .observe(let o):
                batch.append(Evidence(o, cause: .event(settings.sync.source, ev.eventID)))
                batched.append(ev)
                users.insert(o.sourceUserID)
                if case .seen(let user) = o, let snapshot {
                    following[o.sourceUserID] = Rules.snapshot(after: user, held: snapshot)
                } else {
                    following[o.sourceUserID] = nil
                }
            case .noEffect(let note):
                settled.append((ev, note))
            case .fetch(let uid):
                flush()
                // The events right after it that also only ask for this user to be fetched
                // are settled by the same fetch: it reads the user as of now, which is what
                // each of their own fetches would read (nothing is applied in between).
                var group = [ev]
                while i < events.count, events[i].sourceUserID == ev.sourceUserID, case .fetch(uid) = interpret(events[i]) {
                    group.append(events[i])
                    i += 1
                }
                if !storeFailed { await fetchAndApply(group, userID: uid) }
            }
        }
        flush()
        return !storeFailed
    }

    /// One event of a failed batch, on its own: applied, or its attempt recorded.
    private func applyAlone(_ ev: InboxEvent, _ evidence: Evidence) {
        do {
            let decisions = try directory.apply([evidence], settings: settings.sync, licenceLimit: settings.licenceLimit,
                                                mode: .immediate, completing: [[ev.seq]])
            settle(decisions.map { ([ev], $0) })
        } catch {
            recordFailure(ev, error)
        }
    }

    /// Counts a failed attempt: due again after a capped exponential delay, or `failed`
    /// for good after `maxAttempts`.
    private func recordFailure(_ ev: InboxEvent, _ error: any Error) {
        let attempts = ev.attempts + 1
        let final = attempts >= settings.maxAttempts
        let delay = min(settings.maxRetryDelay, settings.retryDelay * Double(1 << min(attempts - 1, 20)))
        let retryAt = final ? nil : Int64((Date().timeIntervalSince1970 + delay).rounded(.up))
        try? directory.recordAttempt(ev.seq, error: "\(error)", retryAt: retryAt)
        if final {
            log("event \(ev.eventID) failed after \(attempts) attempts; marked failed: \(error)")
            observer(ev.type, "failed", nil)
        } else {
            log("event \(ev.eventID) failed (attempt \(attempts) of \(settings.maxAttempts)), retrying in \(delay)s: \(error)")
            observer(ev.type, "retried", nil)
        }
    }

    /// Fetches the user `events` are about and applies what the source says now, settling
    /// them all in the same transaction; the change is audited under the first of them.
    private func fetchAndApply(_ events: [InboxEvent], userID: String) async {
        guard let source else {
            for ev in events { recordFailure(ev, SourceError.transport("no source client (credentials missing)")) }
            return
        }
        let first = events[0]
        do {
            let observation: Observation
            if let user = try await source.fetchUser(id: userID) {
                observation = .seen(user)
            } else {
                observation = .deleted(sourceUserID: userID, at: nil)
            }
            let decisions = try directory.apply([Evidence(observation, cause: .event(settings.sync.source, first.eventID))],
                                                settings: settings.sync, licenceLimit: settings.licenceLimit, mode: .immediate,
                                                completing: [events.map(\.seq)])
            settle(decisions.map { (events, $0) })
        } catch let e as DirectoryError where e.isTransient {
            log("event \(first.eventID): the store is unavailable: \(e)")
        } catch {
            if let e = error as? SourceError, e.isAuthBroken {
                try? directory.updateSourceState(settings.sync.source) { $0.authBroken = true; $0.authError = e.description }
            }
            for ev in events { recordFailure(ev, error) }
        }
    }

    /// Counts settled events: applied, or, those the rules found older than what the link
    /// holds, stale (the batch marked them ignored, SPEC §2).
    private func settle(_ outcomes: [([InboxEvent], Decision)]) {
        for (events, d) in outcomes {
            let isStale = d.effects.contains(.stale)
            for ev in events { observer(ev.type, isStale ? "stale" : "applied", isStale ? nil : latency(ev.receivedAt)) }
        }
    }

    private func latency(_ receivedAt: String) -> Double? {
        guard let t = Timestamp(iso8601: receivedAt) else { return nil }
        return max(0, Date().timeIntervalSince1970 - Double(t.nanoseconds) / 1e9)
    }
}
