import Dispatch
import FoundationEssentials
import JSON
import Synchronization

/// Counters, gauges and one histogram in Prometheus text format (exposition format 0.0.4).
/// Labels are fixed per metric, so series stay few: routes are patterns, not paths.
final class Metrics: @unchecked Sendable {
    private let lock = Lock()
    private var counters: [String: [LabelSet: Series]] = [:]
    private var help: [String: (String, String)] = [:]
    private var histograms: [String: [LabelSet: HistogramSeries]] = [:]

    /// One series of a counter or gauge, looked up once by whoever changes it on a hot
    /// path: a change is then a lock and an add. Looking it up by name and labels hashes
    /// them (~2,500 instructions), and every webhook bumps several.
    final class Series: Sendable {
        private let value = Mutex(0.0)
        func add(_ v: Double = 1) { value.withLock { $0 += v } }
        func set(_ v: Double) { value.withLock { $0 = v } }
        var current: Double { value.withLock { $0 } }
    }

    final class HistogramSeries: Sendable {
        private let value = Mutex(Histogram())
        func observe(_ v: Double) { value.withLock { $0.add(v) } }
        var current: Histogram { value.withLock { $0 } }
    }

    /// The series of one metric that differ in up to three labels (`outcome`; `type` and
    /// `outcome`; route, method and status), each looked up by its values once and kept.
    final class Family: @unchecked Sendable {
        private struct Values: Hashable { var a: String, b: String, c: String }
        private let metrics: Metrics
        private let name: String
        private let base: [(String, String)]
        private let varying: [String]
        private let lock = Lock()
        private var known: [Values: Series] = [:]

        init(_ metrics: Metrics, _ name: String, base: [(String, String)], varying: [String]) {
            self.metrics = metrics
            self.name = name
            self.base = base
            self.varying = varying
        }

        func series(_ a: String, _ b: String = "", _ c: String = "") -> Series {
            let key = Values(a: a, b: b, c: c)
            if let s = lock.withLock({ known[key] }) { return s }
            let labels = base + zip(varying, [a, b, c]).map { ($0, $1) }
            let s = metrics.series(name, labels)
            lock.withLock { known[key] = s }
            return s
        }
    }
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Histogram {
        var counts = [Int](repeating: 0, count: Metrics.buckets.count)
        var sum = 0.0
        var count = 0

        /// In place, so the bucket counts are not copied on every observation.
        mutating func add(_ v: Double) {
            for i in counts.indices where v <= Metrics.buckets[i] { counts[i] += 1 }
            sum += v
            count += 1
        }
    }

    init() {
        describe("usersync_http_requests_total", "counter", "HTTP requests answered, by route pattern, method and status.")
        describe("usersync_webhook_deliveries_total", "counter", "Webhook deliveries by tenant, source and outcome.")
        describe("usersync_events_total", "counter", "Inbox events settled by tenant, source, event type and outcome.")
        describe("usersync_apply_latency_seconds", "histogram", "Seconds from receiving an event to applying it.")
        describe("usersync_inbox_failed_events", "gauge",
                 "Inbox events marked failed after their attempts (see events list --status failed).")
        describe("usersync_source_auth_broken", "gauge", "1 while the source's credentials are refused (401/403).")
        describe("usersync_reconcile_runs_total", "counter", "Reconciliation runs by tenant, source, kind and outcome.")
        describe("usersync_reconcile_last_success_timestamp_seconds", "gauge", "When the last successful full run finished.")
        describe("usersync_inbox_backlog", "gauge", "Events stored but not yet applied (pending, retries included).")
        describe("usersync_reconcile_interval_seconds", "gauge", "Configured seconds between full runs (reconcile.every).")
        describe("usersync_users", "gauge", "Local users by tenant and status.")
    }

    private func describe(_ name: String, _ type: String, _ text: String) { help[name] = (type, text) }

    /// Label names and values; text is rendered only when scraped.
    /// The caller's pairs as they are: a webhook bumps three counters and a histogram, and
    /// copying each set into two arrays first was ~2% of the receiver's CPU.
    struct LabelSet: Hashable {
        var pairs: [(String, String)]
        init(_ pairs: [(String, String)]) { self.pairs = pairs }

        static func == (a: LabelSet, b: LabelSet) -> Bool {
            a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }

        /// Values only: a metric's label names are the same in every series, so hashing them
        /// cost every webhook a dozen string hashes for nothing (equality still compares them).
        func hash(into hasher: inout Hasher) {
            for (_, value) in pairs { hasher.combine(value) }
        }

        var text: String {
            "{" + pairs.map { "\($0)=\(JSONWriter.quote($1))" }.joined(separator: ",") + "}"
        }
    }

    /// The series of `name` with `labels`, made on first use.
    func series(_ name: String, _ labels: [(String, String)]) -> Series {
        lock.withLock { Self.find(name, labels, in: &counters, or: Series.init) }
    }

    func histogram(_ name: String, _ labels: [(String, String)]) -> HistogramSeries {
        lock.withLock { Self.find(name, labels, in: &histograms, or: HistogramSeries.init) }
    }

    private static func find<T>(_ name: String, _ labels: [(String, String)], in all: inout [String: [LabelSet: T]],
                                or make: () -> T) -> T {
        let key = LabelSet(labels)
        if let found = all[name]?[key] { return found }
        let made = make()
        all[name, default: [:]][key] = made
        return made
    }

    func increment(_ name: String, _ labels: [(String, String)], by v: Double = 1) { series(name, labels).add(v) }

    func set(_ name: String, _ labels: [(String, String)], _ v: Double) { series(name, labels).set(v) }

    /// Drops the series of gauge `name` that carry `label`: a tenant that left this
    /// instance's shard must not go on exporting a value frozen at its last run (counters
    /// stay, as Prometheus expects of them).
    func forget(_ name: String, where label: (String, String)) {
        lock.withLock { counters[name] = counters[name]?.filter { !$0.key.pairs.contains { $0 == label } } }
    }

    func observe(_ name: String, _ labels: [(String, String)], _ v: Double) { histogram(name, labels).observe(v) }

    /// The exposition text; `gauges` adds values computed at scrape time.
    func render(extra: [(name: String, labels: [(String, String)], value: Double)]) -> String {
        var c: [String: [String: Double]] = [:]
        var h: [String: [String: Histogram]] = [:]
        lock.withLock {
            for (name, series) in counters { c[name] = Dictionary(uniqueKeysWithValues: series.map { ($0.key.text, $0.value.current) }) }
            for (name, series) in histograms { h[name] = Dictionary(uniqueKeysWithValues: series.map { ($0.key.text, $0.value.current) }) }
        }
        for e in extra { c[e.name, default: [:]][LabelSet(e.labels).text] = e.value }
        var out = ""
        for name in help.keys.sorted() {
            let (type, text) = help[name]!
            out += "# HELP \(name) \(text)\n# TYPE \(name) \(type)\n"
            for (labels, v) in (c[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                out += "\(name)\(labels) \(Self.number(v))\n"
            }
            for (labels, hist) in (h[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let inner = labels.dropFirst().dropLast()
                let sep = inner.isEmpty ? "" : ","
                for (i, b) in Self.buckets.enumerated() {
                    out += "\(name)_bucket{\(inner)\(sep)le=\"\(Self.number(b))\"} \(hist.counts[i])\n"
                }
                out += "\(name)_bucket{\(inner)\(sep)le=\"+Inf\"} \(hist.count)\n"
                out += "\(name)_sum\(labels) \(Self.number(hist.sum))\n\(name)_count\(labels) \(hist.count)\n"
            }
        }
        return out
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
