/// A 64-bit digest of everything the rules read from a source user and from the settings:
/// the settings', continued with a desk's digest of the user as listed (its bytes, or
/// its fields when the desk decodes first).
///
/// It exists so a full run can skip a source user whose link records that this exact
/// input was last applied and left nothing to do: unless the local side changed since
/// (which clears the record), applying it again would change nothing. The digest mixes
/// length-prefixed fields a word at a time, the same in every process and on every machine
/// (Swift's `Hasher` is seeded per process). It guards against accidents, not adversaries: two
/// inputs share a digest with odds of about 2^-64.
public struct Fingerprint: Sendable, Equatable {
    public private(set) var value: UInt64 = 0x7573_6572_7379_6e63 // "usersync"

    /// Bump when a change to the rules could make an input that was at rest act again:
    /// every recorded fingerprint then differs, and the next full run applies every user.
    static let rulesRevision: UInt64 = 1

    private mutating func byte(_ b: UInt8) { word(UInt64(b)) }

    /// One multiply-xorshift round per 64-bit word (byte-at-a-time FNV cost 24
    /// instructions a byte, 3,600 a user).
    private mutating func word(_ w: UInt64) {
        value = (value ^ w) &* 0x9e37_79b9_7f4a_7c15
        value ^= value >> 29
    }

    public mutating func add(_ v: UInt64) { word(v) }

    public mutating func add(_ s: String?) {
        guard var s else { byte(0); return }
        s.withUTF8 { add(bytes: $0) }
    }

    /// Adds bytes as they are, length first.
    public mutating func add(bytes b: UnsafeBufferPointer<UInt8>) {
        word(UInt64(b.count) << 8 | 1)
        var i = 0
        while b.count - i >= 8 {
            word(UInt64(littleEndian: UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: UInt64.self)))
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < b.count { tail |= UInt64(b[i]) << shift; shift += 8; i += 1 }
        if shift > 0 { word(tail) }
    }

    public mutating func add(_ b: Bool?) { byte(b.map { $0 ? 2 : 1 } ?? 0) }

    /// An empty digest, for a desk to digest what it listed (see `ListingPage`).
    public init() {}

    /// Continues the digest with a desk's digest of one listed user: the value a full run
    /// records as applied.
    public func of(digest: UInt64) -> Int64 {
        var f = self
        f.add(digest)
        return Int64(bitPattern: f.value)
    }

    /// A digest of the fields of `user`, for listings decoded before they are digested.
    public static func digest(of user: SourceUser) -> UInt64 { UInt64(bitPattern: Fingerprint().of(user)) }

    /// The digest of the settings alone, from which each user's is continued: a batch
    /// computes it once.
    public init(_ settings: SyncSettings) {
        add(Self.rulesRevision)
        add(settings)
    }

    /// The digest of `user` applied under the settings this one began from, as a value
    /// SQLite stores (INTEGER).
    public func of(_ user: SourceUser) -> Int64 {
        var f = self
        f.add(user.id)
        f.add(user.name)
        f.add(user.email)
        f.add(user.role)
        f.add(user.customRoleID)
        f.add(user.customRoleName)
        f.add(user.active)
        f.add(user.suspended)
        f.add(user.externalID)
        f.add(UInt64(user.userFields.count))
        // Sorted: a dictionary's order differs between processes.
        for key in user.userFields.keys.sorted() {
            f.add(key)
            f.add(user.userFields[key])
        }
        f.add(user.updatedAt.map { UInt64(bitPattern: $0.nanoseconds) } ?? 0)
        f.add(user.updatedAt != nil)
        f.add(user.hasInboxSeat)
        return Int64(bitPattern: f.value)
    }

    private mutating func add(_ s: SyncSettings) {
        add(s.source.rawValue)
        add(UInt64(s.scope.roles.count))
        for r in s.scope.roles { add(r) }
        add(s.scope.inboxSeatRequired)
        switch s.identifier {
        case .defaultMatching: add("default")
        case .externalID: add("external_id")
        case .email: add("email")
        case .userField(let key): add("user_fields." + key)
        }
    }
}
