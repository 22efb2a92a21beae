import Desks
import Foundation
import HTTPClient
import SyncRules
import TestSupport
import Testing

/// The Intercom client against the real intercom-sim process over loopback sockets.
@Suite struct IntercomClientTests {
    /// A client for `sim` with short backoffs; `logs` collects what it reports.
    static func client(_ sim: IntercomSimulator, token: String = IntercomSimulator.token, path: String = "",
                       logs: Recorder<String>? = nil) -> IntercomClient {
        var settings = IntercomClient.Settings(region: .eu, apiBaseURL: sim.baseURL + path, credentials: .accessToken(token))
        settings.retry.baseDelay = 0.02
        return IntercomClient(settings: settings, log: { line in logs?.append(line) })
    }

    static func all(_ c: IntercomClient) async throws -> [SourceUser] {
        var users: [SourceUser] = []
        try await c.listUsers(decodeEagerly: false) { users += try $0.users() }
        return users
    }

    @Test func listingKeepsOnlyAdminsAndReadsStringAndNumberIDs() async throws {
        let sim = try IntercomSimulator()
        let users = try await Self.all(Self.client(sim))
        #expect(users.count == 10, "the team item is left out")
        #expect(!users.contains { $0.id == "8800001" })
        let bob = try #require(users.first { $0.id == "7100003" }, "a numeric id reads as text")
        #expect(bob.name == "Bob Okafor" && bob.email == "bob.okafor@abc-energy.example" && bob.role == "admin")
        #expect(bob.active && !bob.suspended && bob.hasInboxSeat == true)
        #expect(users.first { $0.id == "7100006" }?.hasInboxSeat == false)
        #expect(users.first { $0.id == "7100005" }?.active == true, "away is not a deactivation")
        #expect(users.allSatisfy { $0.updatedAt != nil }, "a listing is dated by Intercom's clock")
        #expect(try sim.stats()["list_admins"] == 1)
    }

    @Test func showReadsOneAdminAndOnlyIntercomsNotFoundMeansGone() async throws {
        let sim = try IntercomSimulator()
        let c = Self.client(sim)
        let eve = try await c.fetchUser(id: "7100002")
        #expect(eve?.name == "Eve Adams")
        #expect(try await c.fetchUser(id: "999") == nil)
        await #expect(throws: SourceError.self) { try await c.fetchUser(id: "../me") }
        // A 404 that is not Intercom's error list (a wrong base URL) is a failure, not a removal.
        let wrong = Self.client(sim, path: "/elsewhere")
        do {
            _ = try await wrong.fetchUser(id: "7100002")
            Issue.record("expected a failure")
        } catch SourceError.http(let status, _) {
            #expect(status == 404)
        }
    }

    @Test func meNamesTheWorkspaceAndEveryRequestPinsTheVersion() async throws {
        let sim = try IntercomSimulator()
        let c = Self.client(sim)
        let workspace = try await c.me()
        #expect(workspace.appID == "abcenergy01" && workspace.region == "US")
        _ = try await Self.all(c)
        _ = try await c.fetchUser(id: "7100001")
        let stats = try sim.stats()
        #expect(stats["version_\(IntercomClient.apiVersion)"] == 3)
        #expect(stats["version_missing"] == nil)
    }

    @Test func regionsPickTheirHostsAndTheOverrideWins() {
        #expect(IntercomClient.Settings(region: .us, credentials: .accessToken("t")).baseURL == "https://api.intercom.io")
        #expect(IntercomClient.Settings(region: .eu, credentials: .accessToken("t")).baseURL == "https://api.eu.intercom.io")
        #expect(IntercomClient.Settings(region: .au, credentials: .accessToken("t")).baseURL == "https://api.au.intercom.io")
        #expect(IntercomClient.Settings(region: .au, apiBaseURL: "http://127.0.0.1:9200/", credentials: .accessToken("t")).baseURL
            == "http://127.0.0.1:9200")
    }

    @Test func a429WithOnlyXRateLimitResetIsWaitedOut() async throws {
        let sim = try IntercomSimulator()
        try sim.control("/_sim/faults", #"{"rate_limit_next": 2, "reset_after": 1}"#)
        let logs = Recorder<String>()
        let users = try await Self.all(Self.client(sim, logs: logs))
        #expect(users.count == 10)
        #expect(try sim.stats()["faults_429"] == 2)
        #expect(logs.all.filter { $0.contains("rate limited (429)") }.count == 2)
    }

    @Test func lowRemainingBudgetPacesRequestsBeforeIntercomSaysNo() async throws {
        let sim = try IntercomSimulator()
        try sim.control("/_sim/faults", #"{"rate_limit": 3, "rate_window_s": 3}"#)
        let logs = Recorder<String>()
        let c = Self.client(sim, logs: logs)
        for _ in 0..<5 { #expect(try await c.fetchUser(id: "7100001") != nil) }
        #expect(try sim.stats()["faults_429"] == nil, "paced, never refused")
    }

    /// The pacing arithmetic on its own, with a fixed clock (the simulator test above only
    /// shows nothing is refused: on a loaded machine the window may pass by itself).
    @Test func theBudgetSpreadsTheLastCallsOfAWindowUntilItsReset() {
        let budget = RateBudget(lowShare: 0.1, maxWait: 60)
        func seen(limit: Int, remaining: Int, reset: Int) {
            let headers = [("x-ratelimit-limit", "\(limit)"), ("x-ratelimit-remaining", "\(remaining)"),
                           ("x-ratelimit-reset", "\(reset)")]
            budget.record(ClientResponse(status: 200, headers: headers, body: []))
        }
        seen(limit: 100, remaining: 50, reset: 1_010)
        #expect(budget.delay(now: 1_000) == 0, "plenty left: no wait")
        seen(limit: 100, remaining: 4, reset: 1_010)
        #expect(budget.delay(now: 1_000) == 2, "10 s left for 4 calls (+1): 2 s each")
        seen(limit: 100, remaining: 0, reset: 1_010)
        #expect(budget.delay(now: 1_000) == 10, "none left: wait for the reset")
        #expect(budget.delay(now: 1_011) == 0, "the window passed")
    }

    @Test func serverErrorsAreRetried() async throws {
        let sim = try IntercomSimulator()
        try sim.control("/_sim/faults", #"{"error_next": 2}"#)
        #expect(try await Self.all(Self.client(sim)).count == 10)
        #expect(try sim.stats()["faults_500"] == 2)
    }

    @Test func aTruncatedBodyFailsTheListing() async throws {
        let sim = try IntercomSimulator()
        try sim.control("/_sim/faults", #"{"truncate_next": 100}"#)
        do {
            _ = try await Self.all(Self.client(sim))
            Issue.record("a truncated listing must fail")
        } catch SourceError.malformed {
        }
    }

    @Test func unauthorizedMarksAuthBroken() async throws {
        let sim = try IntercomSimulator()
        do {
            _ = try await Self.all(Self.client(sim, token: "wrong"))
            Issue.record("expected authBroken")
        } catch let e as SourceError {
            #expect(e.isAuthBroken)
        }
        try sim.control("/_sim/faults", #"{"unauthorized": true}"#)
        await #expect(throws: SourceError.self) { try await Self.client(sim).me() }
    }

    @Test func oauthCodeExchangeYieldsAWorkingToken() async throws {
        let sim = try IntercomSimulator()
        let oauth = IntercomOAuth(clientID: IntercomSimulator.clientID, clientSecret: IntercomSimulator.clientSecret,
                                  redirectURL: "https://usersync.example/oauth/intercom/callback",
                                  authorizeBaseURL: sim.baseURL, tokenBaseURL: sim.baseURL)
        let url = oauth.authorizationURL(state: "st-123")
        #expect(url.hasPrefix(sim.baseURL + "/oauth?client_id=usersync-intercom&state=st-123&redirect_uri=https%3A%2F%2F"))
        let redirect = try sim.http.perform(ClientRequest(url: url))
        #expect(redirect.status == 302)
        let location = try #require(redirect.header("location"))
        #expect(location.hasPrefix("https://usersync.example/oauth/intercom/callback?code="))
        #expect(location.hasSuffix("&state=st-123"))
        let code = String(location.split(separator: "code=")[1].split(separator: "&")[0])
        let token = try await oauth.exchange(code: code)
        var settings = IntercomClient.Settings(apiBaseURL: sim.baseURL, credentials: .bearer { token })
        settings.retry.baseDelay = 0.02
        #expect(try await Self.all(IntercomClient(settings: settings)).count == 10)
        do {
            _ = try await oauth.exchange(code: code)
            Issue.record("a code is good once")
        } catch SourceError.http(let status, _) {
            #expect(status == 400)
        }
    }

    @Test func changedUsersFetchesNothingAndKeepsTheCursor() async throws {
        let sim = try IntercomSimulator()
        var pages = 0
        let cursor = try await Self.client(sim).changedUsers(since: "c1", start: 0) { _ in pages += 1 }
        #expect(cursor == "c1" && pages == 0)
        #expect(try sim.stats()["api_requests"] == nil)
    }
}
