import Glibc
import SyncRules

/// Wall-clock time for rows the store writes (audit, runs), as canonical UTC text.
enum Clock {
    static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    /// Seconds on a clock that never jumps, for measuring waits.
    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func nowNanoseconds() -> Int64 { now().nanoseconds }

    static func nowSeconds() -> Int64 { now().nanoseconds / 1_000_000_000 }

    /// Millisecond precision, always three digits, keeps rows readable and ordered as text.
    static func nowText() -> String { nowToTheMillisecond().iso8601Milliseconds }

    /// The time `nowText()` writes, for a caller that also needs it as a number.
    static func nowToTheMillisecond() -> Timestamp {
        Timestamp(nanoseconds: now().nanoseconds / 1_000_000 * 1_000_000)
    }
}
