import SyncRules

/// A desk usersync imports from. Zendesk and Intercom plug in here; reconciliation and
/// the webhook path only ever see this protocol and `SourceUser` values.
public protocol Source: Sendable {
    var kind: SourceKind { get }

    /// Streams every user the listing returns, one page at a time, to `page`. Memory stays
    /// flat: a page is handed over and dropped before the next is fetched.
    /// `decodeEagerly` asks for every user to be decoded as its page is read, for when
    /// none can be skipped (a first import); otherwise users are decoded when asked.
    func listUsers(decodeEagerly: Bool, page: (_ users: ListingPage) async throws -> Void) async throws

    /// The user as it is now, or nil when the source says it no longer exists.
    func fetchUser(id: String) async throws -> SourceUser?

    /// Users changed since `cursor` (nil: since `start`), page by page; returns the cursor
    /// to resume from next time.
    func changedUsers(since cursor: String?, start: Int64, page: (_ users: [SourceUser]) async throws -> Void) async throws -> String

    /// Registers usersync's webhook at `endpoint` (again: the same one), returns its id and
    /// signing secret; `rotate` gives it a new secret. Desks whose webhooks are set up by
    /// hand (Intercom's app page) throw.
    func installWebhook(endpoint: String, rotate: Bool) async throws -> (id: String, secret: String)

    /// The account the credentials belong to, as (id, region), read at connect time
    /// (Intercom's `GET /me`); nil when the desk has nothing to say.
    func account() async throws -> (id: String, region: String?)?
}

extension Source {
    /// For desks whose webhooks are set up by hand on the desk's own settings page.
    public func webhooksAreManual() throws -> Never {
        throw SourceError.unsupported("\(kind.rawValue) webhooks are set up on the desk's own settings page")
    }
}

/// Why a call to a source failed. Messages never contain credentials.
public enum SourceError: Error, CustomStringConvertible, Sendable {
    /// 401/403: the credentials are wrong or lack permission; `status` shows it until fixed.
    case authBroken(status: Int, detail: String)
    /// An HTTP status the client does not retry (or retried until it gave up).
    case http(status: Int, detail: String)
    /// No response: connection refused, timeout, response too large.
    case transport(String)
    /// A response that is not what the API documents (bad JSON, missing fields).
    case malformed(String)
    /// Something this desk does not do (no request was made).
    case unsupported(String)

    public var description: String {
        switch self {
        case .authBroken(let s, let d): "authentication failed (HTTP \(s)): \(d)"
        case .http(let s, let d): "HTTP \(s): \(d)"
        case .transport(let d): d
        case .malformed(let d): "malformed response: \(d)"
        case .unsupported(let d): d
        }
    }

    public var isAuthBroken: Bool {
        if case .authBroken = self { return true }
        return false
    }
}
