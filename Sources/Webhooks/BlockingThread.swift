import Dispatch
import Glibc

/// A plain thread for work that blocks (SQLite and fsync, a wait for other tasks to end).
/// Dispatch's global queues share their threads with Swift's cooperative pool, and on
/// Linux those are as many as there are cores: a wait parked on one starves every task
/// behind it (on two cores, two such waits stopped `serve` from shutting down). Should the
/// system refuse a thread, a dedicated Dispatch queue carries the body instead.
public enum BlockingThread {
    /// Runs `body` on its own thread; the semaphore is signalled when it returns.
    public static func spawn(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let run: @Sendable () -> Void = {
            body()
            done.signal()
        }
        final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Box(run)).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        if rc == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<Box>.fromOpaque(context).release()
            DispatchQueue(label: "usersync.blocking").async(execute: run)
        }
        return done
    }

    /// Runs `body` on its own thread and returns when it has: a task awaits it without
    /// holding a thread of the pool.
    public static func run(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (k: CheckedContinuation<Void, Never>) in
            _ = spawn {
                body()
                k.resume()
            }
        }
    }
}
