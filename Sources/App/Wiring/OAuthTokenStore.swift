import Desks
import Directory
import FoundationEssentials
import Synchronization
import SyncRules

/// OAuth tokens kept in the tenant database, refreshed a few minutes before they expire
/// (tokens without an expiry, like Intercom's, are never refreshed).
///
/// A desk may rotate both tokens on refresh and invalidate the old pair, so refreshes are
/// serialised twice over: in a process, one refresh is in flight per tenant and every other
/// caller awaits its result; across processes, a refresh claim is taken and the new pair
/// stored by compare-and-swap on the old refresh token, both inside `BEGIN IMMEDIATE`, so a
/// loser re-reads what the winner stored instead of spending the token again.
///
/// A refresh whose answer was lost (timeout, 5xx) may have spent the token. It is not
/// retried at once: the current access token is used while it lasts, and the refresh is
/// tried once more later; if the desk then rejects the token, it was spent and the answer
/// lost, so auth is marked broken and an admin reconnects (`usersync DESK connect`).
actor OAuthTokenStore {
    let directory: TenantDirectory
    let oauth: any DeskOAuth
    let source: SourceKind
    let tenant: String
    private var inFlight: Task<String, any Error>?
    /// Seconds before expiry at which a token is refreshed.
    static let margin: Int64 = 300

    private static let stores = Mutex<[String: OAuthTokenStore]>([:])

    /// The process's one store for a tenant database.
    static func shared(directory: TenantDirectory, oauth: any DeskOAuth, source: SourceKind, tenant: String) -> OAuthTokenStore {
        stores.withLock { all in
            let key = directory.path + "#" + source.rawValue
            if let s = all[key] { return s }
            let s = OAuthTokenStore(directory: directory, oauth: oauth, source: source, tenant: tenant)
            all[key] = s
            return s
        }
    }

    init(directory: TenantDirectory, oauth: any DeskOAuth, source: SourceKind, tenant: String) {
        self.directory = directory
        self.oauth = oauth
        self.source = source
        self.tenant = tenant
    }

    func accessToken() async throws -> String {
        let state = try directory.sourceState(source)
        guard let access = state.oauthAccessToken else {
            throw SourceError.authBroken(status: 401, detail: "tenant \(tenant): not connected; run `usersync \(source.rawValue) connect`")
        }
        guard Self.isDue(state), state.oauthRefreshToken != nil else { return access }
        if let running = inFlight { return try await running.value }
        let task = Task { try await refreshOnce() }
        inFlight = task
        defer { inFlight = nil }
        return try await task.value
    }

    static func isDue(_ s: SourceState, now: Int64 = Int64(Date().timeIntervalSince1970)) -> Bool {
        guard let expires = s.oauthExpiresAt else { return false }
        return expires - now < margin
    }

    private enum Claim { case fresh(String), wait, mine(refresh: String, access: String?, expiresAt: Int64?) }

    private func refreshOnce() async throws -> String {
        let me = RunOwner.current(role: "oauth")
        let deadline = Date().addingTimeInterval(60)
        while true {
            let claim = try directory.updateSourceState(source) { s -> Claim in
                let now = Int64(Date().timeIntervalSince1970)
                guard let refresh = s.oauthRefreshToken, Self.isDue(s, now: now) else { return .fresh(s.oauthAccessToken ?? "") }
                if let holder = s.oauthRefreshClaim, holder != me, (s.oauthRefreshClaimUntil ?? 0) > now { return .wait }
                s.oauthRefreshClaim = me
                s.oauthRefreshClaimUntil = now + 45
                return .mine(refresh: refresh, access: s.oauthAccessToken, expiresAt: s.oauthExpiresAt)
            }
            switch claim {
            case .fresh(let access):
                return access
            case .wait:
                // Another process is refreshing: re-read what it stores.
                guard Date() < deadline else {
                    throw SourceError.transport("tenant \(tenant): another process has been refreshing the OAuth token for a minute")
                }
                try await Task.sleep(for: .milliseconds(100))
            case .mine(let refresh, let access, let expiresAt):
                return try await exchange(refresh, current: access, expiresAt: expiresAt, me: me)
            }
        }
    }

    private func exchange(_ refresh: String, current: String?, expiresAt: Int64?, me: String) async throws -> String {
        let fresh: OAuthTokens
        do {
            fresh = try await oauth.refresh(refresh)
        } catch let e as SourceError {
            let definite: Bool
            switch e {
            case .authBroken: definite = true
            case .http(let status, _): definite = (400..<500).contains(status)
            case .transport, .malformed, .unsupported: definite = false
            }
            try directory.updateSourceState(source) { s in
                if s.oauthRefreshClaim == me { s.oauthRefreshClaim = nil; s.oauthRefreshClaimUntil = nil }
                if definite {
                    s.authBroken = true
                    s.authError = s.oauthRefreshUncertain
                        ? "the OAuth refresh token was spent by a refresh whose answer was lost; run `usersync \(source.rawValue) connect` again"
                        : "the desk refused the OAuth refresh token (\(e)); run `usersync \(source.rawValue) connect` again"
                } else {
                    s.oauthRefreshUncertain = true
                }
            }
            let now = Int64(Date().timeIntervalSince1970)
            if !definite, let current, let expiresAt, expiresAt > now + 5 { return current }
            throw e
        }
        return try directory.updateSourceState(source) { s -> String in
            if s.oauthRefreshClaim == me { s.oauthRefreshClaim = nil; s.oauthRefreshClaimUntil = nil }
            guard s.oauthRefreshToken == refresh else {
                // Someone else stored a newer pair meanwhile (a claim that expired): keep theirs.
                return s.oauthAccessToken ?? fresh.accessToken
            }
            s.oauthAccessToken = fresh.accessToken
            s.oauthRefreshToken = fresh.refreshToken ?? refresh
            s.oauthExpiresAt = fresh.expiresAt
            s.oauthRefreshUncertain = false
            s.authBroken = false
            s.authError = nil
            return fresh.accessToken
        }
    }
}
