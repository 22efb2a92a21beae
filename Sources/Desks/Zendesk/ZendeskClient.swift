import FoundationEssentials
import HTTPClient
import Synchronization
import JSON
import Signing
import SyncRules

/// The Zendesk REST API as a `Source`: list users (role filters, cursor pagination),
/// show user, custom roles, incremental user export. Facts and their sources are in
/// shared/reference/zendesk-api.md §4–6.
public final class ZendeskClient: Source, @unchecked Sendable {
    public enum Credentials: Sendable {
        /// `{email}/token:{api_token}` as Basic auth (https://developer.zendesk.com/api-reference/introduction/security-and-auth/).
        case apiToken(email: String, token: String)
        /// An OAuth access token, fetched (and refreshed when near expiry) on each call.
        case bearer(@Sendable () async throws -> String)
    }

    public struct Settings: Sendable {
        /// `https://SUBDOMAIN.zendesk.com`, or a simulator.
        public var baseURL: String
        public var credentials: Credentials
        /// The roles the tenant imports: decides the listing's `role[]` filters and whether
        /// custom role names must be looked up.
        public var roles: [String]
        /// Cursor page size; Zendesk's maximum is 100 (PAGING).
        public var pageSize = 100
        /// The incremental export allows 10 requests a minute (RATE): at least 6 s apart.
        public var incrementalSpacing: Double = 6
        public var retry = RetryPolicy()

        public init(baseURL: String, credentials: Credentials, roles: [String]) {
            self.baseURL = baseURL
            self.credentials = credentials
            self.roles = roles
        }
    }

    public let kind = SourceKind.zendesk
    public let settings: Settings
    private let http: HTTPClient
    private let log: @Sendable (String) -> Void
    private let lastIncremental = Mutex<Date?>(nil)
    /// Custom role names and when they were read: a full listing reads them afresh, the
    /// webhook path (one Show User per event) reuses them for `roleNamesMaxAge` seconds.
    private let roleNamesCache = Mutex<(names: [String: String], at: Date)?>(nil)
    private let roleNamesMaxAge: Double = 600

    public init(settings: Settings, http: HTTPClient = HTTPClient(), log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.settings = settings
        self.http = http
        self.log = log
    }

    func authorization() async throws -> String {
        switch settings.credentials {
        case .apiToken(let email, let token):
            return "Basic " + Base64.encode(Array("\(email)/token:\(token)".utf8))
        case .bearer(let provide):
            return "Bearer " + (try await provide())
        }
    }

    func request(_ url: String, method: String = "GET", body: [UInt8]? = nil) async throws -> ClientRequest {
        var headers = [("Authorization", try await authorization()), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return ClientRequest(method: method, url: url, headers: headers, body: body)
    }

    func call<T>(_ url: String, method: String = "GET", body: [UInt8]? = nil, what: String, passing: Set<Int> = [],
                 decode: (ClientResponse) throws -> T) async throws -> T {
        try await settings.retry.run(http, try await request(url, method: method, body: body), what: what, log: log,
                                     passing: passing, decode: decode)
    }

    // MARK: Source

    public func listUsers(decodeEagerly: Bool, page: (ListingPage) async throws -> Void) async throws {
        // The whole listing, its pages' batches included, on the client's own queue (see
        // `HTTPClient.executor`), yielding between pages to anyone else's request.
        try await withTaskExecutorPreference(http.executor) {
            try await listUsersHere(decodeEagerly: decodeEagerly, page: page)
        }
    }

    private func listUsersHere(decodeEagerly: Bool, page: (ListingPage) async throws -> Void) async throws {
        let roleNames = try await customRoleNames(fresh: true)
        // Custom roles belong to agents, so selecting one lists agents (USERS: role filters).
        var filters = Set<String>()
        for r in settings.roles {
            switch r.lowercased() {
            case "admin": filters.insert("admin")
            default: filters.insert("agent")
            }
        }
        var query = filters.sorted().map { "role%5B%5D=\($0)" }
        query.append("page%5Bsize%5D=\(settings.pageSize)")
        var url: String? = "\(settings.baseURL)/api/v2/users?\(query.joined(separator: "&"))"
        var number = 0
        while let current = url {
            number += 1
            let (result, users) = try await call(current, what: "list users page \(number)") { r in
                try ZendeskDecoding.listingPage(r.body, roleNames: roleNames, decodeAll: decodeEagerly)
            }
            try await page(users)
            guard result.hasMore else { break }
            await Task.yield()
            url = try nextURL(result, query: query)
        }
    }

    /// Follows `links.next` when it points at our own base URL (never sends credentials
    /// elsewhere); otherwise builds the URL from `meta.after_cursor`.
    private func nextURL(_ page: ZendeskDecoding.UsersPage, query: [String]) throws -> String {
        if let next = page.next, next.hasPrefix(settings.baseURL + "/") { return next }
        guard let cursor = page.afterCursor else { throw SourceError.malformed("has_more without a cursor") }
        let escaped = QueryEncoding.escape(cursor)
        return "\(settings.baseURL)/api/v2/users?\(query.joined(separator: "&"))&page%5Bafter%5D=\(escaped)"
    }

    public func fetchUser(id: String) async throws -> SourceUser? {
        guard id.isASCIIDigits else { throw SourceError.malformed("user id '\(id)' is not numeric") }
        let roleNames = try await customRoleNames()
        return try await call("\(settings.baseURL)/api/v2/users/\(id)", what: "show user \(id)", passing: [404]) { r in
            guard r.status == 404 else { return try ZendeskDecoding.singleUser(r.body, roleNames: roleNames) }
            // Only Zendesk's own answer proves the user is gone; a 404 from a wrong
            // api_base_url or a proxy page is a failed fetch (shared/reference/zendesk-api.md §4).
            guard ZendeskDecoding.isRecordNotFound(r.body) else {
                throw SourceError.http(status: 404, detail: "show user \(id): a 404 without Zendesk's RecordNotFound body")
            }
            return nil
        }
    }

    public func changedUsers(since cursor: String?, start: Int64, page: ([SourceUser]) async throws -> Void) async throws -> String {
        let roleNames = try await customRoleNames()
        var url = cursor.map { "\(settings.baseURL)/api/v2/incremental/users/cursor.json?cursor=\(QueryEncoding.escape($0))" }
            ?? "\(settings.baseURL)/api/v2/incremental/users/cursor.json?start_time=\(start)"
        var last = cursor ?? ""
        while true {
            try await spaceIncremental()
            let result = try await call(url, what: "incremental user export") { r in
                try ZendeskDecoding.incrementalPage(r.body, roleNames: roleNames)
            }
            try await page(result.users)
            if let c = result.afterCursor { last = c }
            if result.endOfStream || result.afterCursor == nil { return last }
            url = "\(settings.baseURL)/api/v2/incremental/users/cursor.json?cursor=\(QueryEncoding.escape(last))"
        }
    }

    private func spaceIncremental() async throws {
        let spacing = settings.incrementalSpacing
        let wait: Double = lastIncremental.withLock { last in
            let now = Date()
            let next = last.map { $0.addingTimeInterval(spacing) } ?? now
            last = max(next, now)
            return max(0, next.timeIntervalSince(now))
        }
        if wait > 0 {
            log("incremental user export: waiting \(RetryPolicy.format(wait)) (10 requests/minute limit)")
            try await Task.sleep(for: .seconds(wait))
        }
    }

    /// Custom role id → name, needed only when the tenant selects roles by name.
    public func customRoleNames(fresh: Bool = false) async throws -> [String: String] {
        let needsNames = settings.roles.contains { !["agent", "admin"].contains($0.lowercased()) && !$0.allSatisfy(\.isNumber) }
        guard needsNames else { return [:] }
        let maxAge = roleNamesMaxAge
        if !fresh, let cached = roleNamesCache.withLock({ $0 }), Date().timeIntervalSince(cached.at) < maxAge {
            return cached.names
        }
        let names: [String: String]
        do {
            names = try await call("\(settings.baseURL)/api/v2/custom_roles", what: "custom roles") { r in
                try ZendeskDecoding.customRoles(r.body)
            }
        } catch SourceError.http(let status, _) where status == 404 || status == 402 {
            // Custom roles need Enterprise; without them every agent is a plain agent.
            names = [:]
        }
        roleNamesCache.withLock { $0 = (names, Date()) }
        return names
    }
}

extension ZendeskClient {
    /// Zendesk names the account by subdomain, which the config already holds.
    public func account() async throws -> (id: String, region: String?)? { nil }
}
