import JSON
import SyncRules

/// One piece of evidence about a source user and the cause its changes are audited under.
public struct Evidence: Sendable {
    public var observation: Observation
    public var cause: Cause
    /// For a user of a full run's listing: the desk's digest of it, and its page's decode
    /// with its place in the page, done only when its link has not applied that digest.
    var digest: UInt64?
    var decode: (@Sendable (Int) throws -> SourceUser)?
    var index = 0

    public init(_ observation: Observation, cause: Cause) {
        self.observation = observation
        self.cause = cause
    }

    /// A listed user decoded already, with the desk's digest of it.
    public init(_ observation: Observation, cause: Cause, digest: UInt64) {
        self.init(observation, cause: cause)
        self.digest = digest
    }

    /// A listed user not decoded yet, the `index`th of a page that `decode` decodes (one
    /// closure per page, not per user); `decode` throws what the desk's decode throws.
    public static func listed(id: String, digest: UInt64, cause: Cause, index: Int,
                              decode: @escaping @Sendable (Int) throws -> SourceUser) -> Evidence {
        var e = Evidence(Self.undecoded, cause: cause)
        e.listedID = id
        e.digest = digest
        e.decode = decode
        e.index = index
        return e
    }

    /// What an undecoded listed user's observation holds until it is decoded: about no
    /// source user, so even applied by mistake it would be ignored (no link has an empty
    /// id), and cheap to copy (a whole placeholder user was 1,100 instructions a user).
    private static let undecoded = Observation.missingFromListing(sourceUserID: "")
    private var listedID: String?

    /// The source user this evidence is about, without decoding it.
    var sourceUserID: String { listedID ?? observation.sourceUserID }

    /// The evidence with its user decoded.
    func decoded() throws -> Evidence {
        guard let decode else { return self }
        var e = Evidence(.seen(try decode(index)), cause: cause)
        e.digest = digest
        return e
    }
}

/// How a batch treats the deactivations its decisions ask for.
public enum DeactivationMode: Sendable, Equatable {
    /// Apply them at once (webhooks, incremental catch-up).
    case immediate
    /// A full run: record them for the run and mark each seen source user, so the run
    /// can apply them only if the listing completes and the guard allows.
    case deferred(runID: Int64)
}

/// What stays the same across one batch's transaction: computed once, not per user.
private struct Batch {
    let settings: SyncSettings
    let licenceLimit: Int
    let mode: DeactivationMode
    let now: String
    /// When this batch touched the links it wrote (unix nanoseconds): a full run judges
    /// "missing" only links untouched since its listing began.
    let touchedNS: Int64
    /// Whether any deferred/held deactivation or open conflict exists for the source; when
    /// none does, the per-user clean-up statements are skipped.
    var deactivationsExist: Bool
    var conflictsExist: Bool
    /// Links (with their users) of the batch's source users, read in one query up front
    /// (nil when not read: a batch of one); a source user missing from it has no link.
    var prefetched: [String: Linked]?
    /// Source users already handled in this batch: their prefetched rows may be stale.
    var handled: Set<String> = []
    /// Whether the batch's unlinked users' identifiers were looked up in one query up front,
    /// and (ASCII case folded, as `COLLATE NOCASE` compares) every email, username and
    /// external_id of the local users that query found or this batch wrote: a looked-up user
    /// none of whose identifiers is held has no match candidates and no email holder, so its
    /// per-user lookups are skipped.
    var lookedUp = false
    var held: Set<String> = []
    /// Each looked-up source user's identifiers by its position in the batch, computed once.
    var keys: [[String]?] = []
    /// Active local users, counted when a restore first asks and kept current as the batch
    /// writes: with no index on status a count reads the whole table.
    var activeUsers: Int?
    /// A full run's view of each position in the batch (empty otherwise): the input's
    /// fingerprint (nil for evidence other than `.seen`), whether the source user has a
    /// link, and the fingerprint that link last applied.
    var fingerprints: [Int64?] = []
    var linkedAt: [Bool] = []
    var appliedAt: [Int64?] = []
    /// Users this batch creates, held to be written together (not when isolating users:
    /// each user's writes must then happen inside its own savepoint).
    var buffersCreations = false
    var creations = Creations()

    /// Whether the evidence at `position` is the input its link last applied with nothing
    /// left to do: applying it again would change nothing, so it is not read or applied.
    func isAtRest(_ position: Int) -> Bool {
        guard position < fingerprints.count, let fp = fingerprints[position] else { return false }
        return appliedAt[position] == fp
    }
}

extension Batch {
    mutating func activeCount(_ db: Connection, directory: TenantDirectory) throws -> Int {
        if let n = activeUsers { return n }
        let n = try directory.activeCount(db)
        activeUsers = n
        return n
    }

    /// Keeps the active count true after a user's status went from `before` to `after`.
    mutating func noteStatus(from before: LocalUser.Status?, to after: LocalUser.Status) {
        guard let n = activeUsers, before != after else { return }
        activeUsers = n + (after == .active ? 1 : 0) - (before == .active ? 1 : 0)
    }

    /// Identifiers this batch gives a local user: later lookups in the batch must query them.
    mutating func hold(_ email: String?, _ username: String?, _ externalID: String?) {
        guard lookedUp else { return }
        // Three arguments, not a variadic list: that was an array allocated per user.
        func insert(_ v: String?) { if let v, !v.isEmpty { held.insert(NoCase.fold(v)) } }
        insert(email)
        insert(username)
        insert(externalID)
    }
}

/// SQLite's `COLLATE NOCASE`: folds ASCII letters only.
enum NoCase {
    static func fold(_ s: String) -> String {
        var s = s
        // Over the contiguous bytes: walking the UTF-8 view by index cost several times more.
        guard s.withUTF8({ $0.contains { $0 &- 65 < 26 } }) else { return s }
        return String(decoding: s.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }
}

/// Values for a `json_each(?)` parameter: a batch's list as one bound JSON array, so each
/// list query is one prepared statement whatever the batch size, and SQLite parses the
/// list rather than Swift binding thousands of parameters.
struct JSONList {
    private var bytes: [UInt8] = [UInt8(ascii: "[")]

    mutating func append(_ value: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        JSONWriter.appendQuoted(value, to: &bytes)
    }

    mutating func append(_ value: Int64) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        JSONWriter.appendInteger(value, to: &bytes)
    }

    var text: String { String(decoding: bytes, as: UTF8.self) + "]" }
}

/// A link, the local user it points to, and whether that user is linked to other sources.
struct Linked {
    var link: Link
    var user: LocalUser
    var hasOtherLinks: Bool
    /// Why the link is out of scope, nil when in scope.
    var outReason: String?
}

extension TenantDirectory {
    /// Applies a batch of evidence through the sync rules in one transaction, returning
    /// each decision as carried out (deferred deactivations are not counted as done).
    ///
    /// `completing` names, for each piece of evidence, the inbox events it settles: they are
    /// marked in the same transaction (applied, or ignored when the rules found the evidence
    /// stale, SPEC §2), so an event is never applied twice, even across a crash.
    ///
    /// With `completing`, the batch is written without fsync: losing it in a crash leaves
    /// those events pending, and they are applied again after the restart.
    public func apply(_ evidence: [Evidence], settings: SyncSettings, licenceLimit: Int,
                      mode: DeactivationMode = .immediate, completing: [[Int64]] = []) throws -> [Decision] {
        // Optimistically without a savepoint per user: a savepoint makes SQLite copy every
        // page the user touches into a statement journal, which was most of a first import's
        // cost. Only when some user cannot be applied is the whole transaction rolled back
        // and the batch done again with each user isolated, so the outcome is the same as
        // isolating every user from the start.
        do {
            return try apply(evidence, settings: settings, licenceLimit: licenceLimit, mode: mode, completing: completing,
                             isolating: false)
        } catch is NeedsIsolation {
            return try apply(evidence, settings: settings, licenceLimit: licenceLimit, mode: mode, completing: completing,
                             isolating: true)
        }
    }

    /// Thrown out of an unisolated batch when one user's evidence could not be applied.
    private struct NeedsIsolation: Error {}

    private func apply(_ evidence: [Evidence], settings: SyncSettings, licenceLimit: Int, mode: DeactivationMode,
                       completing: [[Int64]], isolating: Bool) throws -> [Decision] {
        // A full run's batches commit without fsync, and the run's last write (its record)
        // commits with it: WAL frames reach the disk in order, so that one fsync makes the
        // whole run durable. A crash before it loses only a suffix of the run's batches;
        // the run is then still `running` in the store, the next run takes its expired
        // lease, marks it abandoned and discards its deferred deactivations and seen set,
        // and lists the source again: a crashed run is redone, never half-trusted.
        let durable: Bool
        if case .deferred = mode { durable = false } else { durable = completing.isEmpty }
        return try write(durable: durable) { db in
            var evidence = evidence
            let source = settings.source
            var batch = Batch(settings: settings, licenceLimit: licenceLimit, mode: mode, now: Clock.nowText(),
                              touchedNS: Clock.nowNanoseconds(),
                              deactivationsExist: try db.first(Queries.anyDeactivation, source.rawValue) { $0.bool(0) } ?? false,
                              conflictsExist: try db.first(Queries.anyConflict, source.rawValue) { $0.bool(0) } ?? false)
            batch.buffersCreations = !isolating
            let ids = evidence.map(\.sourceUserID)
            if case .deferred(let runID) = mode {
                try readApplied(db, evidence, ids, batch: &batch)
                // Only links are ever judged missing, and a link made after this point is
                // stamped later than the listing's start, so it is never judged: source
                // users without a link now need no seen mark (a first import marks none).
                try markSeen(db, runID: runID, ids.indices.filter { batch.linkedAt[$0] }.map { ids[$0] })
            }
            let toApply = ids.indices.filter { !batch.isAtRest($0) }
            for i in toApply where evidence[i].decode != nil { evidence[i] = try evidence[i].decoded() }
            if toApply.count > 1 {
                // A full run knows already which source users have links: only theirs are read.
                let linked = batch.linkedAt.isEmpty ? toApply : toApply.filter { batch.linkedAt[$0] }
                batch.prefetched = linked.isEmpty ? [:] : try prefetchLinked(db, source: settings.source, linked.map { ids[$0] })
                try prefetchHeld(db, evidence, batch: &batch)
            }
            var out: [Decision] = []
            out.reserveCapacity(evidence.count)
            for (i, e) in evidence.enumerated() {
                if batch.isAtRest(i) {
                    out.append(Decision(settles: true, effects: [.unchanged]))
                } else if isolating {
                    out.append(try isolated(db, e, at: i, batch: &batch))
                } else {
                    do { out.append(try applyOne(db, e, at: i, batch: &batch)) } catch let error where Self.unapplicable(error) != nil {
                        throw NeedsIsolation()
                    }
                }
            }
            do { try writeCreations(db, &batch) } catch let error where Self.unapplicable(error) != nil { throw NeedsIsolation() }
            try settle(db, completing, out)
            return out
        }
    }

    /// Marks the inbox events each decision settles: applied, or ignored as stale.
    private func settle(_ db: Connection, _ completing: [[Int64]], _ decisions: [Decision]) throws {
        var applied: [Int64] = []
        var stale: [Int64] = []
        for (seqs, d) in zip(completing, decisions) {
            if d.effects.contains(.stale) { stale += seqs } else { applied += seqs }
        }
        try complete(db, applied)
        try complete(db, stale, status: .ignored, note: "stale: older than what the link holds")
    }

    /// Why an error means this user's evidence cannot be applied, or nil when the store
    /// itself failed (locked, I/O): that says nothing about the user and fails the batch.
    private static func unapplicable(_ error: any Error) -> DirectoryError.Reason? {
        switch error {
        case let de as DirectoryError where !de.isTransient: de.reason
        case let se as SQLiteError where !se.isUnavailable: .sqlite(code: se.code, message: se.message)
        default: nil
        }
    }

    /// Applies one user's evidence inside its own savepoint: when it cannot be applied (a
    /// unique-index collision the rules did not foresee, say), its writes are rolled back,
    /// the user gets a conflict, and the rest of the batch goes on.
    private func isolated(_ db: Connection, _ e: Evidence, at position: Int, batch: inout Batch) throws -> Decision {
        try db.run(Queries.savepoint)
        do {
            let d = try applyOne(db, e, at: position, batch: &batch)
            try db.run(Queries.release)
            return d
        } catch let error {
            try db.run(Queries.rollbackToSavepoint)
            try db.run(Queries.release)
            batch.activeUsers = nil
            guard let reason = Self.unapplicable(error) else { throw error }
            batch.handled.insert(e.observation.sourceUserID)
            return try recordUnapplicable(db, e, reason: reason, batch: &batch)
        }
    }

    /// The conflict for evidence that could not be applied, naming the users involved.
    private func recordUnapplicable(_ db: Connection, _ e: Evidence, reason: DirectoryError.Reason,
                                    batch: inout Batch) throws -> Decision {
        let source = batch.settings.source
        let sid = e.observation.sourceUserID
        var ids: [Int64] = []
        if let linked = try fetchLinked(db, source: source, sourceUserID: sid) { ids.append(linked.user.id) }
        let detail: String
        if case .collision(let field, let value, let holder) = reason {
            ids.append(holder)
            detail = "\(source.rawValue) user \(sid): \(field) '\(value)' is already used by local user \(holder)"
        } else {
            detail = "\(source.rawValue) user \(sid) could not be applied: \(DirectoryError(tenant: tenant, reason).message)"
        }
        try db.run(Queries.upsertConflict, source.rawValue, sid, Conflict.Kind.unapplicable.rawValue, detail,
                   ids.map(String.init).joined(separator: ","), batch.now, batch.now)
        // The rolled-back writes left the link's record of what it applied as it was: with
        // a conflict open, nothing is at rest.
        try db.run(Queries.setApplied, nil as Int64?, source.rawValue, sid)
        batch.conflictsExist = true
        return Decision(conflict: Conflict(kind: .unapplicable, detail: detail, userIDs: ids), effects: [.conflict])
    }

    func fetchLink(_ db: Connection, source: SourceKind, sourceUserID: String) throws -> Link? {
        try fetchLinked(db, source: source, sourceUserID: sourceUserID)?.link
    }

    /// The link of a source user and the local user it points to, in one lookup.
    func fetchLinked(_ db: Connection, source: SourceKind, sourceUserID: String) throws -> Linked? {
        try db.first(Queries.linkedUser, source.rawValue, sourceUserID) { r in
            Self.linked(r, offset: 0, source: source, sourceUserID: sourceUserID)
        }
    }

    /// Records source users a full listing returned, a page at a time, in the run's own
    /// seen set (a table, so it survives reconnects and another process can see it).
    private func markSeen(_ db: Connection, runID: Int64, _ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        var list = JSONList()
        for id in ids { list.append(id) }
        try db.run(Queries.markSeen, runID, list.text)
    }

    /// A full run's fingerprint of each `.seen` input, and what each source user's link
    /// last applied, in one query.
    private func readApplied(_ db: Connection, _ evidence: [Evidence], _ ids: [String], batch: inout Batch) throws {
        let settings = batch.settings
        let seed = Fingerprint(settings)
        batch.fingerprints = evidence.map { e in
            if let digest = e.digest { return seed.of(digest: digest) }
            if case .seen(let u) = e.observation { return seed.of(digest: Fingerprint.digest(of: u)) }
            return nil
        }
        batch.linkedAt = Array(repeating: false, count: ids.count)
        batch.appliedAt = Array(repeating: nil, count: ids.count)
        // A source user listed twice in one batch is applied each time, never skipped: its
        // first copy may change what the second would be judged against.
        let order = ids.indices.sorted { Row.binaryOrder(ids[$0], ids[$1]) < 0 }
        for (a, b) in zip(order, order.dropFirst()) where ids[a] == ids[b] {
            batch.fingerprints[a] = nil
            batch.fingerprints[b] = nil
        }
        if try readAppliedInRange(db, ids, order: order, batch: &batch) { return }
        var list = JSONList()
        for id in ids { list.append(id) }
        _ = try db.query(Queries.appliedIn, list.text, settings.source.rawValue) { r in
            let i = Int(r.int(0))
            batch.linkedAt[i] = true
            batch.appliedAt[i] = r.optionalInt(1)
        }
    }

    /// `readApplied` as one range scan of the links between the batch's lowest and highest
    /// id, merged with the ids in the same (BINARY) order: a listing comes in id order, so
    /// its batch is usually a contiguous run of links, and a step along it costs a quarter
    /// of a lookup. False, having read nothing, when the range holds too many other links.
    private func readAppliedInRange(_ db: Connection, _ ids: [String], order: [Int], batch: inout Batch) throws -> Bool {
        guard let lo = order.first, let hi = order.last else { return true }
        let limit = 2 * ids.count + 16
        let scan = try db.prepare(Queries.appliedBetween)
        try scan.bind(batch.settings.source.rawValue, ids[lo], ids[hi], limit)
        defer { scan.reset() }
        var found: [(position: Int, applied: Int64?)] = []
        var k = 0
        var rows = 0
        while try scan.step() {
            rows += 1
            let r = Row(stmt: scan.stmt)
            let key = r.textBytes(0)
            while k < order.count, Row.binaryOrder(ids[order[k]], key) < 0 { k += 1 }
            var j = k
            while j < order.count, Row.binaryOrder(ids[order[j]], key) == 0 {
                found.append((order[j], r.optionalInt(1)))
                j += 1
            }
        }
        guard rows < limit else { return false }
        for f in found {
            batch.linkedAt[f.position] = true
            batch.appliedAt[f.position] = f.applied
        }
        return true
    }

    /// The links (and users) of many source users in one query.
    private func prefetchLinked(_ db: Connection, source: SourceKind, _ ids: [String]) throws -> [String: Linked] {
        var out: [String: Linked] = [:]
        out.reserveCapacity(ids.count)
        var list = JSONList()
        for id in ids { list.append(id) }
        _ = try db.query(Queries.linkedUsersIn, list.text, source.rawValue) { r in
            let sid = r.text(0)
            out[sid] = Self.linked(r, offset: 1, source: source, sourceUserID: sid)
        }
        return out
    }

    /// The (column, value) pairs the lookups for unlinked `u` compare: default matching's
    /// external_id step, the identifier value against its fields, and the email holder.
    private static func lookups(_ u: SourceUser, settings: SyncSettings) -> [(MatchQuery.LocalField, String)] {
        let q = MatchQuery(for: u, identifier: settings.identifier)
        var out: [(MatchQuery.LocalField, String)] = []
        out.reserveCapacity(4)
        if let x = q.externalIDEquals, !x.isEmpty { out.append((.externalID, NoCase.fold(x))) }
        if let v = q.value, !v.isEmpty {
            let folded = NoCase.fold(v)
            for f in q.fields { out.append((f, folded)) }
        }
        // The email holder's key is there already when the identifier value is the email
        // and is compared with the email column (default matching): one key fewer per user
        // in the batch's list, 3% of a first import.
        if let e = u.email, !e.isEmpty, !(q.value == e && q.fields.contains(.email)) { out.append((.email, NoCase.fold(e))) }
        return out
    }

    /// Reads, in one query, which of the batch's unlinked users' identifiers a local user holds.
    private func prefetchHeld(_ db: Connection, _ evidence: [Evidence], batch: inout Batch) throws {
        var emails = JSONList(), usernames = JSONList(), externalIDs = JSONList()
        // A column no local user fills cannot hold anything: its list stays empty (a first
        // import's users have no username or external id, and were probed for both).
        let inUse = try db.first(Queries.identifiersInUse) { r in (r.bool(0), r.bool(1), r.bool(2)) } ?? (true, true, true)
        batch.keys = Array(repeating: nil, count: evidence.count)
        // By index: enumerating copied each evidence (and its user) out of the array first.
        for i in evidence.indices {
            guard case .seen(let u) = evidence[i].observation, !batch.isAtRest(i), batch.prefetched?[u.id] == nil else { continue }
            let pairs = Self.lookups(u, settings: batch.settings)
            for (f, v) in pairs {
                switch f {
                case .email: if inUse.0 { emails.append(v) }
                case .username: if inUse.1 { usernames.append(v) }
                case .externalID: if inUse.2 { externalIDs.append(v) }
                }
            }
            // Default matching compares the identifier with two columns: one key, held once.
            var keys: [String] = []
            keys.reserveCapacity(pairs.count)
            for (_, v) in pairs where !keys.contains(v) { keys.append(v) }
            batch.keys[i] = keys
        }
        batch.lookedUp = true
        _ = try db.query(Queries.heldIdentifiers, emails.text, usernames.text, externalIDs.text) { r in
            for i: Int32 in 0..<3 { if let v = r.optionalText(i) { batch.held.insert(NoCase.fold(v)) } }
        }
    }

    /// True when the up-front lookup proves the user at `position` in the batch has no
    /// candidates and no email holder.
    private static func knownUnmatched(at position: Int, batch: Batch) -> Bool {
        guard batch.lookedUp, let keys = batch.keys[position] else { return false }
        return keys.allSatisfy { !batch.held.contains($0) }
    }

    static func linked(_ r: Row, offset o: Int32, source: SourceKind, sourceUserID: String) -> Linked {
        let user = localUser(r, offset: o)
        let snapshot = r.isNull(o + 12) ? nil : LinkSnapshot(
            name: r.text(o + 12), email: r.optionalText(o + 13), role: r.text(o + 14), customRole: r.optionalText(o + 15),
            customRoleName: r.optionalText(o + 19), active: r.bool(o + 16), suspended: r.bool(o + 17),
            updatedAt: r.optionalInt(o + 18).map(Timestamp.init(nanoseconds:)))
        return Linked(link: Link(source: source, sourceUserID: sourceUserID, userID: user.id, snapshot: snapshot), user: user,
                      hasOtherLinks: r.bool(o + 20), outReason: r.optionalText(o + 21))
    }

    /// The links of `userID` to sources other than `source`, for the two-desk rule.
    func otherLinks(_ db: Connection, userID: Int64, source: SourceKind) throws -> [OtherLink] {
        try db.query(Queries.otherLinks, userID, source.rawValue) { r in OtherLink(source: r.sourceKind(0), outReason: r.optionalText(1)) }
    }

    func candidates(_ db: Connection, _ q: MatchQuery, source: SourceKind) throws -> MatchCandidates {
        func map(_ r: Row) -> MatchCandidates.Candidate {
            .init(user: Self.localUser(r), linkedTo: r.optionalText(12))
        }
        var out = MatchCandidates()
        if let ext = q.externalIDEquals, !ext.isEmpty {
            out.byExternalID = try db.query(Queries.byExternalID, source.rawValue, ext, map: map)
        }
        if let value = q.value, !value.isEmpty {
            let sql = q.fields.first == .email ? Queries.byEmailOrUsername : Queries.byExternalIDOrUsername
            out.byIdentifier = try db.query(sql, source.rawValue, value, value, map: map)
        }
        return out
    }

    func activeCount(_ db: Connection) throws -> Int {
        Int(try db.first(Queries.activeCount) { $0.int(0) } ?? 0)
    }

    private func applyOne(_ db: Connection, _ e: Evidence, at position: Int, batch: inout Batch) throws -> Decision {
        let settings = batch.settings
        let source = settings.source
        let sid = e.observation.sourceUserID
        let found: Linked?
        if let prefetched = batch.prefetched, !batch.handled.contains(sid) {
            found = prefetched[sid]
        } else {
            try writeCreations(db, &batch)
            found = try fetchLinked(db, source: source, sourceUserID: sid)
        }
        // Held creations are written before anything reads the store: a source user with
        // no link and none of whose identifiers is held reads nothing before its decision.
        let unmatched = found == nil && Self.knownUnmatched(at: position, batch: batch)
        if !unmatched { try writeCreations(db, &batch) }
        if batch.prefetched != nil { batch.handled.insert(sid) }
        let linked = found?.user
        var view = DirectoryView(link: found?.link, linkedUser: linked)
        if let found, found.hasOtherLinks {
            view.otherLinks = try otherLinks(db, userID: found.user.id, source: source)
        }
        if case .seen = e.observation, unmatched {
            // No local user holds any of its identifiers: no candidates, no email holder.
        } else if case .seen(let u) = e.observation {
            if linked == nil && settings.scope.exclusion(of: u) == nil {
                view.candidates = try candidates(db, MatchQuery(for: u, identifier: settings.identifier), source: source)
            }
            // Whoever holds the email is looked up even when default matching found
            // candidates: a link made by external_id may pick a user other than the holder.
            if let email = u.email, !email.isEmpty, email != linked?.email {
                view.emailHolder = try db.first(Queries.emailHolder, email, linked?.id ?? -1, map: Self.localUser)
            }
            if linked?.status == .deactivated {
                view.seatFree = try batch.activeCount(db, directory: self) < batch.licenceLimit
            }
        }
        var d = Rules.decide(e.observation, view: view, settings: settings)
        let wantsDeactivation = d.effects.contains(.deactivated)
        // A creation's other writes are its conflict and clean-up rows, which no held row
        // affects; anything else is written after what is held.
        let holds = batch.buffersCreations && d.create != nil && d.update == nil && (d.linkOut ?? nil) == nil
        if !holds { try writeCreations(db, &batch) }
        // What the link should record as applied once this user's writes are done: the
        // input's fingerprint when it leaves nothing pending (no conflict, no deferred
        // deactivation), so that applying it again would change nothing; else nothing.
        // `standing` follows what the link holds as the writes below go: the triggers
        // clear it whenever they touch the user or the link.
        let fingerprint = position < batch.fingerprints.count ? batch.fingerprints[position] : nil
        var wanted = d.settles && d.conflict == nil && !wantsDeactivation ? fingerprint : nil
        var standing = position < batch.appliedAt.count ? batch.appliedAt[position] : nil

        var userID = linked?.id
        var before = linked
        if let c = d.create {
            batch.hold(c.email, c.username, c.externalID)
            let created: LocalUser
            if holds {
                created = try batch.creations.user(db, c)
                if wanted != nil, !Self.isFixedPoint(e.observation, link: Link(source: source, sourceUserID: sid, userID: created.id,
                                                                                snapshot: d.snapshot),
                                                     user: created, out: nil, otherLinks: [], settings: settings) {
                    wanted = nil
                }
                batch.creations.hold(created, sourceUserID: sid, snapshot: d.snapshot, applied: wanted, cause: e.cause)
            } else {
                created = try insertUser(db, c, cause: e.cause, now: batch.now)
                try insertLink(db, source: source, sourceUserID: sid, userID: created.id, snapshot: d.snapshot, applied: wanted,
                               batch: batch)
            }
            batch.noteStatus(from: nil, to: created.status)
            userID = created.id
            before = created
            standing = wanted
        } else if let target = d.linkTo {
            if found != nil { try db.run(Queries.deleteLink, source.rawValue, sid) }
            // The user's other links were judged without this one (see migration 10).
            try db.run(Queries.unapplyLinks, target)
            before = try fetchUser(db, id: target)
            userID = target
            try insertLink(db, source: source, sourceUserID: sid, userID: target, snapshot: d.snapshot, applied: wanted,
                           batch: batch)
            standing = wanted
            if let u = before {
                try audit(db, userID: target, action: "linked to \(source.rawValue) user \(sid)", cause: e.cause,
                          before: u, after: u, now: batch.now)
            }
        } else if let snapshot = d.snapshot, found != nil {
            try db.run(Queries.updateLinkSnapshot, snapshot.name, snapshot.email, snapshot.role, snapshot.customRole, snapshot.active,
                       snapshot.suspended, snapshot.updatedAt?.nanoseconds, snapshot.customRoleName, batch.touchedNS,
                       source.rawValue, sid)
            standing = nil
        } else if found != nil, case .immediate = batch.mode, !d.effects.contains(.stale), !d.effects.contains(.ignored) {
            // Evidence from outside a full run, even when it changes nothing, means a run
            // already under way must not judge this link "missing" (SPEC §2).
            try db.run(Queries.touchLink, batch.touchedNS, source.rawValue, sid)
        }

        // A link just made is in scope; an unchanged reason is not written again (a
        // no-change run would otherwise rewrite every link). Absence from a listing never
        // replaces a stronger reason the desk gave (a teammate it said was removed stays
        // "removed": the user's reason names every desk's once all are out); whatever the
        // desk itself says of the user does.
        let currentOut: String?? = d.create != nil || d.linkTo != nil ? .some(nil) : found.map(\.outReason)
        var absent = false
        if case .missingFromListing = e.observation { absent = true }
        if let out = d.linkOut, let current = currentOut, current != out,
           !(absent && Rules.absenceKeeps(current, over: out)) {
            try db.run(Queries.setLinkOut, out, source.rawValue, sid)
            standing = nil
        }
        if var after = d.update, let b = before {
            if case .deferred(let runID) = batch.mode, after.status == .deactivated, b.status != .deactivated, let uid = userID {
                // This source's own reason: settling combines it with other sources' again.
                let own = (d.linkOut ?? nil) ?? after.reason ?? "deactivated in source"
                try db.run(Queries.deferDeactivation, source.rawValue, sid, uid, runID, own)
                batch.deactivationsExist = true
                after.status = b.status
                after.deactivatedBy = b.deactivatedBy
                after.reason = b.reason
                after.statusBeforeDeactivation = b.statusBeforeDeactivation
                d.effects.remove(.deactivated)
                // A deactivation deferred to the end of the run, and nothing else: counted
                // there, as deactivated or held, never also as unchanged.
                if d.effects == [.unchanged] { d.effects = [] }
                d.update = after == b ? nil : after
            }
            batch.hold(after.email, after.username, after.externalID)
            try updateUser(db, from: b, to: after, action: Self.action(for: d.effects), cause: e.cause, now: batch.now)
            batch.noteStatus(from: b.status, to: after.status)
            // Only a write fires the trigger (a deferred deactivation may leave none).
            if after != b { standing = nil }
            before = after
        }
        if wanted != nil, !holds, d.create != nil || d.linkTo != nil, let uid = userID,
           try !Self.isFixedPoint(e.observation, link: Link(source: source, sourceUserID: sid, userID: uid, snapshot: d.snapshot),
                                  user: before, out: (d.linkOut ?? nil) ?? nil,
                                  otherLinks: d.linkTo != nil ? otherLinks(db, userID: uid, source: source) : [],
                                  settings: settings) {
            wanted = nil
        }
        if wanted != standing, found != nil || d.create != nil || d.linkTo != nil {
            try db.run(Queries.setApplied, wanted, source.rawValue, sid)
        }
        if batch.deactivationsExist, case .seen = e.observation, !wantsDeactivation, !d.effects.contains(.stale) {
            // Seen in scope again: any deactivation an earlier run deferred or held is moot.
            try db.run(Queries.deleteDeactivation, source.rawValue, sid)
        }
        if let c = d.conflict {
            try db.run(Queries.upsertConflict, source.rawValue, sid, c.kind.rawValue, c.detail,
                       c.userIDs.map(String.init).joined(separator: ","), batch.now, batch.now)
            batch.conflictsExist = true
        } else if d.settles, batch.conflictsExist {
            try db.run(Queries.deleteConflict, source.rawValue, sid)
        }
        return d
    }

    /// Whether the linked rules, deciding `observation` again on the state a new link was
    /// just left in, would change nothing: the unlinked rules that made it are not the ones
    /// a later run applies (a user linked while sync had deactivated it is restored then, a
    /// created name is trimmed then), so only such a state may be recorded as at rest.
    static func isFixedPoint(_ observation: Observation, link: Link, user: LocalUser?, out: String?, otherLinks: [OtherLink],
                             settings: SyncSettings) -> Bool {
        guard let user else { return false }
        let view = DirectoryView(link: link, linkedUser: user, otherLinks: otherLinks)
        let again = Rules.decide(observation, view: view, settings: settings)
        return again.effects == [.unchanged] && again.update == nil && again.snapshot == nil && again.conflict == nil
            && again.create == nil && again.linkTo == nil && (again.linkOut.map { $0 == out } ?? true)
    }

    /// Writes the creations the batch holds.
    private func writeCreations(_ db: Connection, _ batch: inout Batch) throws {
        try batch.creations.write(db, source: batch.settings.source, now: batch.now, touchedNS: batch.touchedNS)
    }

    static func action(for effects: Decision.Effects) -> String {
        let names = effects.subtracting([.unchanged, .linked, .created, .conflict]).names
        return names.isEmpty ? "updated" : names.joined(separator: "+")
    }

    private func insertLink(_ db: Connection, source: SourceKind, sourceUserID: String, userID: Int64, snapshot: LinkSnapshot?,
                            applied: Int64?, batch: Batch) throws {
        try db.run(Queries.insertLink, source.rawValue, sourceUserID, userID, snapshot?.name, snapshot?.email, snapshot?.role,
                   snapshot?.customRole, snapshot?.active, snapshot?.suspended, snapshot?.updatedAt?.nanoseconds, batch.now,
                   snapshot?.customRoleName, batch.touchedNS, applied)
    }
}

extension TenantDirectory {
    /// The snapshot a link last applied, for rebuilding a user from a thin webhook event.
    public func linkSnapshot(source: SourceKind, sourceUserID: String) throws -> LinkSnapshot? {
        try readBehindWrites { db in try fetchLinked(db, source: source, sourceUserID: sourceUserID)?.link.snapshot }
    }
}
