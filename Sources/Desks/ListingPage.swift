import SyncRules

/// One page of a full listing as the desk sent it: each user's id and a digest of what
/// the desk said about it, read up front, and the user itself decoded only when asked.
///
/// It exists because most users of a run are unchanged since the last one: the directory
/// skips those whose link already applied the same digest, so their decode (a fifth of a
/// no-change run) is never done. A digest covers everything the desk's decode reads
/// (for Zendesk the user's bytes and the custom role names it resolves).
public struct ListingPage: Sendable {
    public let ids: [String]
    public let digests: [UInt64]
    private let decode: @Sendable (Int) throws -> SourceUser

    public var count: Int { ids.count }

    init(ids: [String], digests: [UInt64], decode: @escaping @Sendable (Int) throws -> SourceUser) {
        self.ids = ids
        self.digests = digests
        self.decode = decode
    }

    /// Users decoded already, each digested by its fields.
    public init(users: [SourceUser]) {
        ids = users.map(\.id)
        digests = users.map(Fingerprint.digest(of:))
        decode = { users[$0] }
    }

    /// The user at `index`, decoded now; throws `SourceError.malformed` for bad input.
    public func user(at index: Int) throws -> SourceUser { try decode(index) }

    /// `user(at:)` as a value, to decode users later without holding a closure per user.
    public var decoder: @Sendable (Int) throws -> SourceUser { decode }

    public func users() throws -> [SourceUser] { try ids.indices.map(user(at:)) }
}
