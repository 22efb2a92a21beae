import Directory
import Synchronization

/// Group commit for one tenant's inbox: events that arrive together are inserted in one
/// transaction and share one fsync; each delivery is answered only after that commit.
///
/// Whoever submits asks for a `flush()` once its current work is done (the receiver does
/// it at the end of an event-loop turn), so every request that arrived in that turn shares
/// one commit, with no hand-off to another thread. Past `maxQueued` waiting events it
/// refuses at once, so the receiver can answer 503 with a short Retry-After.
public final class InboxWriter: @unchecked Sendable {
    public typealias Completion = @Sendable (Result<Bool, any Error>) -> Void

    public struct Overloaded: Error, CustomStringConvertible {
        public var description: String { "inbox overloaded" }
    }

    public struct Stopped: Error, CustomStringConvertible {
        public var description: String { "inbox writer stopped" }
    }

    private let directory: TenantDirectory
    private let maxQueued: Int
    private let onStored: @Sendable () -> Void
    private struct State {
        var queue: [(NewInboxEvent, Completion)] = []
        var stopped = false
        var flushing = false
    }
    private let state = Mutex(State())

    public init(directory: TenantDirectory, maxQueued: Int = 20_000, onStored: @escaping @Sendable () -> Void) {
        self.directory = directory
        self.maxQueued = maxQueued
        self.onStored = onStored
    }

    /// Queues an event; `completion` runs after the commit that stores it (in `flush`).
    public func submit(_ event: NewInboxEvent, completion: @escaping Completion) {
        let maxQueued = self.maxQueued
        let refusal: (any Error)? = state.withLock { s -> (any Error)? in
            if s.stopped { return Stopped() }
            if s.queue.count >= maxQueued { return Overloaded() }
            s.queue.append((event, completion))
            return nil
        }
        if let refusal { completion(.failure(refusal)) }
    }

    /// Stores everything queued in one transaction, then completes each submission. When
    /// another thread is already flushing, returns at once: that flusher takes these events
    /// in its next round, so threads never queue up behind each other's fsync.
    public func flush() {
        let mine = state.withLock { s -> Bool in
            if s.flushing { return false }
            s.flushing = true
            return true
        }
        guard mine else { return }
        while true {
            let batch = state.withLock { s -> [(NewInboxEvent, Completion)] in
                let out = s.queue
                s.queue.removeAll(keepingCapacity: true)
                if out.isEmpty { s.flushing = false }
                return out
            }
            if batch.isEmpty { return }
            do {
                let results = try directory.store(batch.map(\.0))
                for (item, new) in zip(batch, results) { item.1(.success(new)) }
                if results.contains(true) { onStored() }
            } catch {
                for item in batch { item.1(.failure(error)) }
            }
        }
    }

    /// Stores what is queued and refuses anything after.
    public func stop() {
        state.withLock { $0.stopped = true }
        flush()
    }
}
