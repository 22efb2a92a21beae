import App
import Desks
import Directory
import Foundation
import HTTPClient
import SyncRules
import TestSupport
import Testing

/// A tenant with an Intercom section (and optionally Zendesk beside it) against the real
/// simulators, driven through the real CLI.
final class DeskHarness: @unchecked Sendable {
    let intercom: IntercomSimulator
    let zendesk: Simulator?
    let folder = TemporaryFolder()
    let config: String

    init(intercomExtra: String = "", withZendesk: Bool = false, auth: String? = nil, intercomArguments: [String] = []) throws {
        setenv("USERSYNC_BACKOFF_BASE_MS", "20", 1)
        intercom = try IntercomSimulator(["--admins", Products.samples + "/intercom-admins.json"] + intercomArguments)
        zendesk = withZendesk ? try Simulator() : nil
        let icToken = try folder.write("ic-token", IntercomSimulator.token)
        let icSecret = try folder.write("ic-secret", IntercomSimulator.clientSecret)
        let zdToken = try folder.write("zd-token", Simulator.token)
        let icAuth = auth ?? #"{"type": "access_token", "token_file": "\#(icToken)"}"#
        var sections = """
          "intercom": {"enabled": true, "region": "eu", "api_base_url": "\(intercom.baseURL)", "auth": \(icAuth),
            "webhook_secret_file": "\(icSecret)", "app_id": "abcenergy01"\(intercomExtra)}
        """
        if let z = zendesk {
            sections += """
            , "zendesk": {"enabled": true, "subdomain": "abc-energy", "api_base_url": "\(z.baseURL)",
              "auth": {"type": "api_token", "email": "\(Simulator.email)", "token_file": "\(zdToken)"}, "roles": ["agent", "admin"]}
            """
        }
        config = try folder.write("usersync.json", """
        {"data_dir": "data", "tenants": [{"id": "abc-energy", "features": ["integrations"], "licence_limit": 5, \(sections)}]}
        """)
    }

    func cli(_ args: String...) async -> (code: Int32, out: String, err: String) {
        let console = Console(capture: true)
        let code = await UsersyncCLI.run(["--config", config] + args, console: console)
        return (code, console.output, console.errors)
    }

    func directory() throws -> TenantDirectory { try TenantDirectory(dataDir: folder.path + "/data", tenant: "abc-energy") }

    func user(_ source: SourceKind, _ id: String) throws -> UserRecord? {
        try directory().users().first { $0.links.contains { $0.source == source && $0.sourceUserID == id } }
    }
}

@Suite(.serialized) struct IntercomRunTests {
    let ann = "7100001", bob = "7100003", olga = "7100006", sam = "7100010"

    @Test func aFullRunImportsEveryTeammateAndARemovedOneIsMissingFromSource() async throws {
        let h = try DeskHarness()
        let r = await h.cli("reconcile", "--source", "intercom")
        #expect(r.code == 0, "\(r.out) \(r.err)")
        let users = try h.directory().users()
        #expect(users.count == 10)
        #expect(users.allSatisfy { $0.user.status == .pending && $0.user.origin == .intercom })
        #expect(try h.user(.intercom, bob)?.user.name == "Bob Okafor", "numeric ids are read as text")
        try h.intercom.control("/_sim/admins/\(ann)/remove", #"{"silent": true}"#)
        #expect(await h.cli("reconcile", "--source", "intercom").code == 0)
        let gone = try #require(try h.user(.intercom, ann)).user
        #expect(gone.status == .deactivated && gone.reason == "missing from source" && gone.deactivatedBy == .sync)
        #expect(try h.directory().users(status: .deactivated).count == 1)
    }

    @Test func aFailedListingDeactivatesNobodyAndTheGuardHoldsAMassRemoval() async throws {
        let h = try DeskHarness(intercomExtra: #", "max_deactivations": 2"#)
        #expect(await h.cli("reconcile", "--source", "intercom").code == 0)
        for id in ["7100002", "7100004", "7100005"] { try h.intercom.control("/_sim/admins/\(id)/remove", #"{"silent": true}"#) }
        try h.intercom.control("/_sim/faults", #"{"error_next": 20}"#)
        let failed = await h.cli("reconcile", "--source", "intercom")
        #expect(failed.code == 1)
        #expect(try h.directory().users(status: .deactivated).isEmpty, "a failed listing deactivates nobody")
        try h.intercom.control("/_sim/faults", #"{"error_next": 0}"#)
        let held = await h.cli("reconcile", "--source", "intercom")
        #expect(held.code == 0 && held.out.contains("held 3"), "\(held.out)")
        #expect(try h.directory().users(status: .deactivated).isEmpty)
        #expect(await h.cli("reconcile", "--source", "intercom", "--confirm-deactivations").code == 0)
        #expect(try h.directory().users(status: .deactivated).count == 3)
    }

    @Test func inboxSeatRequiredLeavesTeammatesWithoutASeatOut() async throws {
        let h = try DeskHarness(intercomExtra: #", "inbox_seat_required": true"#)
        #expect(await h.cli("reconcile", "--source", "intercom").code == 0)
        #expect(try h.directory().users().count == 8)
        #expect(try h.user(.intercom, olga) == nil && h.user(.intercom, sam) == nil)
        // Losing the seat later is a deactivation with its reason.
        try h.intercom.control("/_sim/admins/\(bob)/update", #"{"has_inbox_seat": false}"#)
        #expect(await h.cli("reconcile", "--source", "intercom").code == 0)
        #expect(try h.user(.intercom, bob)?.user.reason == "no inbox seat in source")
    }

    @Test func aPersonInBothDesksStaysActiveUntilRemovedFromBoth() async throws {
        let h = try DeskHarness(withZendesk: true)
        #expect(await h.cli("reconcile").code == 0)
        let annZ = "6596848315901"
        let annRecord = try #require(try h.user(.zendesk, annZ))
        #expect(Set(annRecord.links.map(\.source)) == [.zendesk, .intercom], "one local user with two links")
        #expect(await h.cli("users", "activate", String(annRecord.user.id)).code == 0)

        try h.intercom.control("/_sim/admins/\(ann)/remove", #"{"silent": true}"#)
        #expect(await h.cli("reconcile", "--source", "intercom").code == 0)
        #expect(try h.user(.zendesk, annZ)?.user.status == .active, "Zendesk still has her")

        try h.zendesk!.control("/_sim/users/\(annZ)/suspend", #"{"silent": true}"#)
        #expect(await h.cli("reconcile", "--source", "zendesk").code == 0)
        let gone = try #require(try h.user(.zendesk, annZ)).user
        #expect(gone.status == .deactivated)
        #expect(gone.reason == "intercom: missing from source; zendesk: suspended in source", "\(gone.reason ?? "-")")

        // Back in either desk: restored to what she was.
        try h.zendesk!.control("/_sim/users/\(annZ)/unsuspend", #"{"silent": true}"#)
        #expect(await h.cli("reconcile", "--source", "zendesk").code == 0)
        #expect(try h.user(.zendesk, annZ)?.user.status == .active)
    }

    /// A harness whose Intercom section authenticates with OAuth (the simulator's client).
    func oauthHarness(_ secrets: TemporaryFolder, intercomArguments: [String] = []) throws -> DeskHarness {
        let secret = try secrets.write("client-secret", IntercomSimulator.clientSecret)
        let auth = #"{"type": "oauth", "client_id": "\#(IntercomSimulator.clientID)", "client_secret_file": "\#(secret)", "#
            + #""redirect_url": "http://127.0.0.1:9/cb"}"#
        return try DeskHarness(auth: auth, intercomArguments: intercomArguments)
    }

    /// `intercom connect`, then the simulator's Allow: the code it sends back.
    func authorizationCode(_ h: DeskHarness) async throws -> String {
        let begin = await h.cli("intercom", "connect")
        #expect(begin.code == 0, "\(begin.err)")
        let lines = begin.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let url = try #require(lines.first { $0.hasPrefix("http") })
        let location = try #require(try h.intercom.http.perform(ClientRequest(url: url)).header("location"))
        return try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "code" }?.value)
    }

    @Test func intercomConnectExchangesTheCodeAndRecordsTheWorkspace() async throws {
        let secrets = TemporaryFolder()
        let h = try oauthHarness(secrets)
        let done = await h.cli("intercom", "connect", "--code", try await authorizationCode(h))
        #expect(done.code == 0, "\(done.out) \(done.err)")
        let state = try h.directory().sourceState(.intercom)
        #expect(state.oauthAccessToken != nil && state.oauthExpiresAt == nil)
        #expect(state.accountID == "abcenergy01")
        #expect(await h.cli("reconcile", "--source", "intercom").code == 0, "the OAuth token lists teammates")
        #expect(try h.directory().users().count == 10)
    }

    /// A token for another workspace than the configured `app_id` is refused and not kept:
    /// its listing would import that workspace's teammates.
    @Test func intercomConnectRefusesAnotherWorkspace() async throws {
        let secrets = TemporaryFolder()
        let h = try oauthHarness(secrets, intercomArguments: ["--app-id", "otherws99"])
        let done = await h.cli("intercom", "connect", "--code", try await authorizationCode(h))
        #expect(done.code == 1)
        #expect(done.err.contains("workspace 'otherws99', not the configured app_id 'abcenergy01'"), "\(done.err)")
        let state = try h.directory().sourceState(.intercom)
        #expect(state.oauthAccessToken == nil && state.authBroken)
        #expect(await h.cli("reconcile", "--source", "intercom").code != 0)
        #expect(try h.directory().users().isEmpty)
    }
}
