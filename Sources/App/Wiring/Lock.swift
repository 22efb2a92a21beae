import Synchronization

/// A mutual-exclusion lock with NSLock's call shape, so App's shared state needs no
/// Foundation (which would add ~7 MB of resident libraries to every CLI call).
final class Lock: Sendable {
    private let mutex = Mutex(())

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        try mutex.withLock { _ in try body() }
    }
}
