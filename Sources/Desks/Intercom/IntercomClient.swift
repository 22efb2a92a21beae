import FoundationEssentials
import HTTPClient
import SyncRules

/// The workspace an Intercom token belongs to, from `GET /me` at connect time: `appID` is
/// `app.id_code` (the `app_id` of every notification), `region` e.g. `US`
/// (shared/reference/intercom-and-webhook-practice.md §1.1).
public struct IntercomWorkspace: Sendable, Equatable {
    public var appID: String
    public var region: String?
    public var name: String?
    public var adminID: String?
    public var adminEmail: String?

    public init(appID: String, region: String?, name: String? = nil, adminID: String? = nil, adminEmail: String? = nil) {
        self.appID = appID
        self.region = region
        self.name = name
        self.adminID = adminID
        self.adminEmail = adminEmail
    }
}

/// The Intercom REST API as a `Source`: teammates are workspace admins, listed whole by
/// `GET /admins` and shown by `GET /admins/{id}`; every request pins `Intercom-Version`
/// and is paced by Intercom's rate-limit headers (reference §1).
public final class IntercomClient: Source, @unchecked Sendable {
    /// The API version every request pins: 2.14 is the default of the official OpenAPI
    /// description it was checked against (intercom/Intercom-OpenAPI `descriptions/2.14`,
    /// reference §1.3); without the header a request follows whatever the app is set to.
    public static let apiVersion = "2.14"

    /// Where a workspace lives (reference §1.1).
    public enum Region: String, Sendable, CaseIterable {
        case us, eu, au

        public var baseURL: String {
            switch self {
            case .us: "https://api.intercom.io"
            case .eu: "https://api.eu.intercom.io"
            case .au: "https://api.au.intercom.io"
            }
        }
    }

    public enum Credentials: Sendable {
        /// A private app's access token.
        case accessToken(String)
        /// A public app's OAuth token (long-lived: Intercom returns no refresh token), read on each call.
        case bearer(@Sendable () async throws -> String)
    }

    public struct Settings: Sendable {
        /// The regional host, or a simulator.
        public var baseURL: String
        public var credentials: Credentials
        public var version = IntercomClient.apiVersion
        public var retry = RetryPolicy()

        /// `apiBaseURL` (config `api_base_url`) wins over the region's host.
        public init(region: Region = .us, apiBaseURL: String? = nil, credentials: Credentials) {
            var base = apiBaseURL ?? region.baseURL
            while base.hasSuffix("/") { base.removeLast() }
            self.baseURL = base
            self.credentials = credentials
        }
    }

    public let kind = SourceKind.intercom
    public let settings: Settings
    private let http: HTTPClient
    private let log: @Sendable (String) -> Void
    private let budget = RateBudget()

    public init(settings: Settings, http: HTTPClient = HTTPClient(), log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.settings = settings
        self.http = http
        self.log = log
    }

    func request(_ path: String) async throws -> ClientRequest {
        let token: String
        switch settings.credentials {
        case .accessToken(let t): token = t
        case .bearer(let provide): token = try await provide()
        }
        return ClientRequest(url: settings.baseURL + path, headers: [
            ("Authorization", "Bearer " + token), ("Accept", "application/json"), ("Intercom-Version", settings.version),
        ])
    }

    func call<T>(_ path: String, what: String, passing: Set<Int> = [], decode: (ClientResponse) throws -> T) async throws -> T {
        try await settings.retry.run(http, try await request(path), what: what, log: log, passing: passing, budget: budget,
                                     decode: decode)
    }

    /// Intercom's clock at the response (its `Date` header): a listing is the truth as of
    /// then, so a notification created before it is stale against what it left in the link.
    static func asOf(_ r: ClientResponse) -> Timestamp? {
        r.header("date").flatMap { RetryPolicy.httpDate($0) }.map { Timestamp(seconds: $0) }
    }

    // MARK: Source

    /// The whole workspace in one answer: `GET /admins` has no pagination in 2.x (§1.4).
    public func listUsers(decodeEagerly: Bool, page: (ListingPage) async throws -> Void) async throws {
        let users = try await call("/admins", what: "list admins") { r in
            let at = Self.asOf(r)
            return try IntercomDecoding.adminList(r.body).map { u in
                var u = u
                u.updatedAt = at
                return u
            }
        }
        try await page(ListingPage(users: users))
    }

    /// The admin, or nil when Intercom answers 404 with its `admin_not_found` error list
    /// (a removed teammate, §3); any other 404 is an error, not a removal.
    public func fetchUser(id: String) async throws -> SourceUser? {
        guard id.isASCIIDigits else { throw SourceError.malformed("admin id '\(id)' is not numeric") }
        return try await call("/admins/\(id)", what: "show admin \(id)", passing: [404]) { r in
            if r.status == 404 {
                guard IntercomDecoding.isNotFound(r.body) else {
                    throw SourceError.http(status: 404, detail: "show admin \(id): \(RetryPolicy.errorDetail(r))")
                }
                return nil
            }
            var u = try IntercomDecoding.singleAdmin(r.body)
            u.updatedAt = Self.asOf(r)
            return u
        }
    }

    /// Intercom has no incremental export of admins: nothing is fetched and the cursor
    /// comes back unchanged; full runs (one cheap call) do the repairing.
    public func changedUsers(since cursor: String?, start: Int64, page: ([SourceUser]) async throws -> Void) async throws -> String {
        cursor ?? ""
    }

    /// `GET /me`: the token's workspace id and region, recorded at connect time.
    public func me() async throws -> IntercomWorkspace {
        try await call("/me", what: "identify workspace (/me)") { r in try IntercomDecoding.workspace(r.body) }
    }
}

extension IntercomClient {
    /// Intercom notifications are subscribed to on the app's Developer Hub page.
    public func installWebhook(endpoint: String, rotate: Bool) async throws -> (id: String, secret: String) { try webhooksAreManual() }

    /// The workspace (`app.id_code`) and its region, from `GET /me`.
    public func account() async throws -> (id: String, region: String?)? {
        let w = try await me()
        return (w.appID, w.region)
    }
}
