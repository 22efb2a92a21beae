import Glibc

import Dispatch

/// A flag one side raises and another waits for, with a timeout: the inbox writer's thread
/// blocks on it (pthread condition variable), the applier's and the schedulers' tasks await
/// it without holding a thread (and without `Task.sleep`, see `Scheduler.stop`).
public final class Wakeup: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var raised = false
    /// The task awaiting the flag, and which of its waits that is (so a timeout that fires
    /// late does not end a later wait).
    private var waiter: CheckedContinuation<Void, Never>?
    private var waits = 0

    public init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    public func raise() {
        pthread_mutex_lock(&mutex)
        let task = waiter
        waiter = nil
        raised = task == nil
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
        task?.resume()
    }

    /// Waits until raised or `seconds` pass, lowering the flag; the timeout is a Dispatch
    /// timer, so no thread is held meanwhile. One task awaits at a time.
    public func waitAsync(seconds: Double) async {
        await withCheckedContinuation { (k: CheckedContinuation<Void, Never>) in
            pthread_mutex_lock(&mutex)
            if raised {
                raised = false
                pthread_mutex_unlock(&mutex)
                k.resume()
                return
            }
            waiter = k
            waits += 1
            let this = waits
            pthread_mutex_unlock(&mutex)
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in timedOut(this) }
        }
    }

    private func timedOut(_ wait: Int) {
        pthread_mutex_lock(&mutex)
        let task = waits == wait ? waiter : nil
        if task != nil { waiter = nil }
        pthread_mutex_unlock(&mutex)
        task?.resume()
    }

    /// Waits until raised or `seconds` pass; lowers the flag.
    func wait(seconds: Double) {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let nanos = Int(deadline.tv_nsec) + Int((seconds - seconds.rounded(.down)) * 1e9)
        deadline.tv_sec += Int(seconds) + nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        pthread_mutex_lock(&mutex)
        while !raised {
            if pthread_cond_timedwait(&condition, &mutex, &deadline) == ETIMEDOUT { break }
        }
        raised = false
        pthread_mutex_unlock(&mutex)
    }
}
