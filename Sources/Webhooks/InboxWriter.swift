import Directory
import Foundation

/// Group commit for one tenant's inbox: events that arrive together are inserted in one
/// transaction and share one fsync; each delivery is answered only after that commit.
///
/// It runs on its own thread (a blocking SQLite commit never sits on an event loop or the
/// Swift cooperative pool). Past `maxQueued` waiting events it refuses at once, so the
/// receiver can answer 503 with a short Retry-After instead of queueing without bound.
public final class InboxWriter: @unchecked Sendable {
    public typealias Completion = @Sendable (Result<Bool, any Error>) -> Void

    public struct Overloaded: Error, CustomStringConvertible {
        public var description: String { "inbox overloaded" }
    }

    private let directory: TenantDirectory
    private let maxQueued: Int
    private let onStored: @Sendable () -> Void
    private let condition = NSCondition()
    private var queue: [(NewInboxEvent, Completion)] = []
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    public init(directory: TenantDirectory, maxQueued: Int = 20_000, onStored: @escaping @Sendable () -> Void) {
        self.directory = directory
        self.maxQueued = maxQueued
        self.onStored = onStored
        let t = Thread { [weak self] in self?.run() }
        t.name = "inbox-writer"
        thread = t
        t.start()
    }

    /// Queues an event; `completion` runs on the writer thread after the commit.
    public func submit(_ event: NewInboxEvent, completion: @escaping Completion) {
        condition.lock()
        if stopping || queue.count >= maxQueued {
            condition.unlock()
            completion(.failure(Overloaded()))
            return
        }
        queue.append((event, completion))
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && stopping {
                condition.unlock()
                finished.signal()
                return
            }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            condition.unlock()
            do {
                let results = try directory.store(batch.map(\.0))
                for (item, new) in zip(batch, results) { item.1(.success(new)) }
                if results.contains(true) { onStored() }
            } catch {
                for item in batch { item.1(.failure(error)) }
            }
        }
    }

    /// Stores what is queued, then stops the thread.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        finished.wait()
    }
}
