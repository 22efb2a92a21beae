/// Tallies of what a batch of decisions did: a run's counts, shown by `status`.
public struct SyncCounts: Sendable, Equatable {
    public var fetched = 0
    public var created = 0
    public var linked = 0
    public var renamed = 0
    public var emailChanged = 0
    public var deactivated = 0
    public var restored = 0
    public var unchanged = 0
    public var conflicts = 0
    public var held = 0
    public var stale = 0
    public var ignored = 0

    public init() {}

    public mutating func add(_ d: Decision) {
        let e = d.effects
        if e.contains(.created) { created += 1 }
        if e.contains(.linked) { linked += 1 }
        if e.contains(.renamed) { renamed += 1 }
        if e.contains(.emailChanged) { emailChanged += 1 }
        if e.contains(.deactivated) { deactivated += 1 }
        if e.contains(.restored) { restored += 1 }
        if e.contains(.unchanged) { unchanged += 1 }
        if e.contains(.conflict) { conflicts += 1 }
        if e.contains(.stale) { stale += 1 }
        if e.contains(.ignored) { ignored += 1 }
    }

    public mutating func add(_ o: SyncCounts) {
        fetched += o.fetched; created += o.created; linked += o.linked; renamed += o.renamed
        emailChanged += o.emailChanged; deactivated += o.deactivated; restored += o.restored
        unchanged += o.unchanged; conflicts += o.conflicts; held += o.held; stale += o.stale; ignored += o.ignored
    }

    /// Name/value pairs in a fixed order, for tables, JSON and metrics.
    public var fields: [(String, Int)] {
        [("fetched", fetched), ("created", created), ("linked", linked), ("renamed", renamed),
         ("email_changed", emailChanged), ("deactivated", deactivated), ("restored", restored),
         ("unchanged", unchanged), ("conflicts", conflicts), ("held", held), ("stale", stale), ("ignored", ignored)]
    }
}
