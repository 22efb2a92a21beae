import Directory
import Foundation
import HTTPClient
import SyncRules
import TestSupport
import Testing

// Nested in ServeTests (serialized): real processes and blocking waits take turns, so the
// cooperative pool keeps threads for the in-process tests beside them.
extension ServeTests {
/// Issue 7 at the serve level, over a real `usersync serve` and the simulator: poison
/// events, deletions that need evidence, end-user events without fetches, failed runs
/// retried, the stronger deactivation reason, retention, backup under load, and every
/// acknowledged event synced before its 200.
@Suite(.serialized) struct TrustTests {
    let ann = "6596848315901", bob = "6596848315902", chen = "6596848315903"
    let customers = ["6596848315950", "6596848315951", "6596848315952"]

    /// A Show User for a linked user that answers a proxy's 404 (a fetch that fails).
    func identityChanged(_ user: String, id: String = UUID().uuidString) -> String {
        ServeHarness.event(id: id, type: "user.identity_changed", user: user,
                           current: #"{"id":"1","primary":true,"type":"email","value":"x@abc-energy.example"}"#)
    }

    @Test func poisonEventFailsAfterItsAttemptsWhileLaterEventsApply() throws {
        let h = try ServeHarness(top: #""events": {"max_attempts": 2, "retry_delay": "1s"},"#)
        try h.waitForImport()
        try h.sim.control("/_sim/faults", #"{"proxy_404_users": [\#(ann)]}"#)
        #expect(try h.deliver(identityChanged(ann, id: "poison-1")).status == 200)
        #expect(try h.deliver(ServeHarness.event(type: "user.name_changed", user: bob, current: #""Bob Behind""#)).status == 200)

        // The event behind the poison one applies at once, while the poison one waits for its retry.
        #expect(try h.eventually(2) { try h.user(linkedTo: bob)?.name == "Bob Behind" })
        let poison = { try h.directory().events(limit: 1000).first { $0.eventID == "poison-1" } }
        #expect(try poison()?.status == .pending)

        #expect(try h.eventually { try poison()?.status == .failed })
        let p = try #require(try poison())
        #expect(p.attempts == 2)
        #expect(p.lastError?.contains("404") == true)

        let failed = try #require(try h.cliJSON(["events", "list", "--status", "failed"]) as? [[String: Any]])
        #expect(failed.count == 1)
        #expect(failed.first?["event_id"] as? String == "poison-1")
        #expect(failed.first?["attempts"] as? Int == 2)
        #expect((failed.first?["error"] as? String)?.contains("RecordNotFound") == true)
        #expect(try h.zendeskStatus()["failed_events"] as? Int == 1)
        let metrics = try h.metrics()
        #expect(metrics.contains(#"usersync_inbox_failed_events{tenant="abc-energy",source="zendesk"} 1"#))
        let failedEvents = #"usersync_events_total{tenant="abc-energy",source="zendesk","#
            + #"type="zen:event-type:user.identity_changed",outcome="failed"} 1"#
        #expect(metrics.contains(failedEvents))

        // A 404 without Zendesk's RecordNotFound body is no evidence of deletion.
        let annNow = try #require(try h.user(linkedTo: ann))
        #expect(annNow.status == .pending)
        #expect(annNow.reason == nil)
    }

    /// A webhook that needs its user fetched is applied while a full run waits on a slow
    /// page: the applier has a connection of its own.
    @Test func aFetchingEventDoesNotWaitBehindARunsPageInFlight() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let newcomer = #"{"id": 6596848315977, "name": "Newcomer", "email": "new@abc-energy.example", "silent": true}"#
        let created = try h.sim.control("/_sim/users", newcomer)
        #expect(created.status == 201)
        try h.sim.control("/_sim/faults", #"{"list_delay_ms": 8000}"#)
        let pages = try h.simStats()["list_pages"] ?? 0
        #expect(try h.api("POST", "/api/tenants/abc-energy/sources/zendesk/reconcile").status == 202)
        #expect(try h.eventually { try (h.simStats()["list_pages"] ?? 0) > pages }, "the run's page request is in flight")
        #expect(try h.deliver(ServeHarness.event(type: "user.created", user: "6596848315977")).status == 200)
        #expect(try h.eventually(5) { try h.user(linkedTo: "6596848315977")?.name == "Newcomer" },
                "applied while the page is still delayed")
        try h.sim.control("/_sim/faults", #"{"list_delay_ms": 0}"#)
    }

    @Test func aReloadedAttemptLimitAppliesToEventsAlreadyRetrying() throws {
        let h = try ServeHarness(top: #""events": {"max_attempts": 50, "retry_delay": "1s"},"#)
        try h.waitForImport()
        try h.sim.control("/_sim/faults", #"{"proxy_404_users": [\#(ann)]}"#)
        #expect(try h.deliver(identityChanged(ann, id: "poison-2")).status == 200)
        let poison = { try h.directory().events(limit: 1000).first { $0.eventID == "poison-2" } }
        #expect(try h.eventually { try (poison()?.attempts ?? 0) >= 1 })
        let config = try String(contentsOfFile: h.config, encoding: .utf8)
        try config.replacingOccurrences(of: #""max_attempts": 50"#, with: #""max_attempts": 2"#)
            .write(toFile: h.config, atomically: true, encoding: .utf8)
        kill(h.serve.process.processIdentifier, SIGHUP)
        #expect(try h.eventually(15) { try poison()?.status == .failed })
    }

    @Test func endUserEventsAboutUnlinkedUsersSettleWithoutAFetch() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let before = try h.simStats()["show_user"] ?? 0
        var ids: [String] = []
        for (i, c) in customers.enumerated() {
            for type in ["user.name_changed", "user.identity_changed", "user.created"] {
                let id = "customer-\(i)-\(type)"
                ids.append(id)
                let current = type == "user.name_changed" ? #""A Customer""# : "null"
                #expect(try h.deliver(ServeHarness.event(id: id, type: type, user: c, current: current, role: "end-user")).status == 200)
            }
        }
        let settled = { try h.directory().events(limit: 1000).filter { ids.contains($0.eventID) } }
        #expect(try h.eventually { try settled().count == ids.count && settled().allSatisfy { $0.status == .applied } })
        #expect(try h.simStats()["show_user"] ?? 0 == before)
        #expect(try h.directory().users().allSatisfy { u in !u.links.contains { customers.contains($0.sourceUserID) } })

        // The counter does count: the same event about a user whose role the event does not
        // say is end-user fetches them.
        #expect(try h.deliver(ServeHarness.event(id: "agent-created", type: "user.created", user: customers[0])).status == 200)
        #expect(try h.eventually { try h.simStats()["show_user"] ?? 0 == before + 1 })
    }

    /// A burst of events that each ask for the same user to be fetched is settled by one
    /// fetch: events that arrive while a fetch is under way share the next one.
    @Test func eventsWaitingOnTheSameUserShareOneFetch() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let agent = "6596848315999"
        let before = try h.simStats()["show_user"] ?? 0
        try h.sim.control("/_sim/faults", #"{"latency_ms": 1500}"#)
        let ids = (0..<6).map { "burst-\($0)" }
        // The first fetch takes 1.5 s; the other five are stored well within it.
        for id in ids {
            #expect(try h.deliver(ServeHarness.event(id: id, type: "user.name_changed", user: agent, current: #""A""#)).status == 200)
        }
        let settled = { try h.directory().events(limit: 1000).filter { ids.contains($0.eventID) } }
        #expect(try h.eventually { try settled().count == ids.count && settled().allSatisfy { $0.status == .applied } })
        let fetches = try h.simStats()["show_user"] ?? 0
        #expect(fetches <= before + 2, "the five events behind the first share one fetch: \(fetches - before) fetches")
    }

    /// Events about one linked user that wait behind a fetch are applied as one batch, each
    /// read against the snapshot the event before it leaves: a suspension followed by two
    /// renames ends suspended and renamed twice (read against the link as stored, each
    /// rename would carry the old "not suspended" and undo the suspension).
    @Test func aBurstAboutOneLinkedUserReadsEachEventAfterTheOneBefore() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let before = try #require(try h.user(linkedTo: bob))
        #expect(before.status != .deactivated)
        try h.sim.control("/_sim/faults", #"{"latency_ms": 1500}"#)
        let slow = ServeHarness.event(id: "slow-fetch", type: "user.name_changed", user: "6596848315999", current: #""A""#)
        #expect(try h.deliver(slow).status == 200)
        let burst = [
            ServeHarness.event(id: "bob-suspended", type: "user.suspended_changed", user: bob, current: "true"),
            ServeHarness.event(id: "bob-renamed-1", type: "user.name_changed", user: bob, current: #""Bob Once""#),
            ServeHarness.event(id: "bob-renamed-2", type: "user.name_changed", user: bob, current: #""Bob Twice""#),
        ]
        for event in burst { #expect(try h.deliver(event).status == 200) }
        let ids = ["slow-fetch", "bob-suspended", "bob-renamed-1", "bob-renamed-2"]
        let settled = { try h.directory().events(limit: 1000).filter { ids.contains($0.eventID) } }
        #expect(try h.eventually { try settled().count == ids.count && settled().allSatisfy { $0.status == .applied } })
        let after = try #require(try h.user(linkedTo: bob))
        #expect(after.name == "Bob Twice")
        #expect(after.status == .deactivated && after.deactivatedBy == .sync)
        #expect(after.reason == "suspended in source")
    }

    @Test func aFailedScheduledRunIsRetriedWithinSecondsNotAtTheNextAnchor() throws {
        let h = try ServeHarness(reconcile: #"{"every": "24h", "retry": "1s"}"#) { sim in
            try sim.control("/_sim/faults", #"{"fail_page": 1}"#)
        }
        #expect(try h.eventually { try h.directory().runs().contains { $0.kind == .full && $0.outcome == .failed } })
        func nextRun() throws -> (at: Int64, kind: String)? {
            guard let next = try h.zendeskStatus()["next_run"] as? [String: Any], let at = next["at"] as? String,
                  let seconds = Timestamp(iso8601: at)?.seconds, let kind = next["kind"] as? String else { return nil }
            return (seconds, kind)
        }
        #expect(try h.eventually {
            guard let n = try nextRun() else { return false }
            return n.kind == "full" && n.at <= Int64(Date().timeIntervalSince1970) + 120
        }, "the retry is planned within minutes")
        #expect(try h.directory().runs().allSatisfy { $0.outcome != .completed })

        try h.sim.control("/_sim/faults", #"{"fail_page": 0}"#)
        #expect(try h.eventually { try h.directory().runs().contains { $0.kind == .full && $0.outcome == .completed } })
        #expect(try h.directory().users().count > 0)
        // After a success, the next full run is the schedule's again.
        #expect(try h.eventually {
            guard let n = try nextRun() else { return false }
            return n.kind == "full" && n.at >= Int64(Date().timeIntervalSince1970) + 23 * 3600
        })
    }

    /// The retry a failed run waits for survives a restart (it lived in memory only: a
    /// restart then waited for the next anchor, a day for a nightly run).
    @Test func aRestartKeepsTheRetryOfAFailedRun() throws {
        let h = try ServeHarness(reconcile: #"{"every": "24h", "retry": "1h"}"#)
        try h.waitForImport()
        try h.sim.control("/_sim/faults", #"{"fail_page": 1}"#)
        #expect(try h.api("POST", "/api/tenants/abc-energy/sources/zendesk/reconcile").status == 202)
        #expect(try h.eventually { try h.directory().runs().first { $0.kind == .full }?.outcome == .failed })
        h.serve.stop()
        try h.start()
        let now = Int64(Date().timeIntervalSince1970)
        #expect(try h.eventually {
            guard let next = try h.zendeskStatus()["next_run"] as? [String: Any], let at = next["at"] as? String,
                  let seconds = Timestamp(iso8601: at)?.seconds else { return false }
            return next["kind"] as? String == "full" && seconds <= now + 3700 && seconds >= now + 3000
        }, "the retry an hour after the failure, not the next day's run")
    }

    @Test func deletionAfterSuspensionShowsTheStrongerReason() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        try h.sim.control("/_sim/webhooks", #"{"url": "\#(h.baseURL)/webhooks/zendesk/abc-energy", "secret": "\#(ServeHarness.secret)"}"#)
        try h.sim.control("/_sim/users/\(bob)/suspend")
        #expect(try h.eventually { try h.user(linkedTo: bob)?.reason == "suspended in source" })
        try h.sim.control("/_sim/users/\(bob)/delete")
        #expect(try h.eventually { try h.user(linkedTo: bob)?.reason == "deleted in source" })
        let b = try #require(try h.user(linkedTo: bob))
        #expect(b.status == .deactivated && b.deactivatedBy == .sync)
    }

    @Test func aReloadedRetentionSweepsSoonNotAfterTheOldInterval() throws {
        let h = try ServeHarness(top: #""retention": {"inbox": "30d"},"#)
        try h.waitForImport()
        #expect(try h.deliver(ServeHarness.event(type: "user.name_changed", user: bob, current: #""Bob B""#)).status == 200)
        #expect(try h.eventually { try h.directory().events().contains { $0.status == .applied } })
        let config = try String(contentsOfFile: h.config, encoding: .utf8)
        try config.replacingOccurrences(of: #""inbox": "30d""#, with: #""inbox": "1s""#)
            .write(toFile: h.config, atomically: true, encoding: .utf8)
        kill(h.serve.process.processIdentifier, SIGHUP)
        // The 30-day retention swept hourly; the new one sweeps within seconds.
        #expect(try h.eventually(15) { try h.directory().events().isEmpty })
    }

    @Test func retentionPrunesSettledEventsAndLeavesPendingOnes() throws {
        let h = try ServeHarness(top: #""retention": {"inbox": "1s"}, "events": {"max_attempts": 50, "retry_delay": "1h"},"#)
        try h.waitForImport()
        try h.sim.control("/_sim/faults", #"{"proxy_404_users": [\#(ann)]}"#)
        #expect(try h.deliver(identityChanged(ann, id: "stuck-1")).status == 200)
        var settledIDs: [String] = []
        for i in 0..<5 {
            let id = "rename-\(i)"
            settledIDs.append(id)
            #expect(try h.deliver(ServeHarness.event(id: id, type: "user.name_changed", user: bob, current: #""Bob \#(i)""#)).status == 200)
        }
        settledIDs.append("ticket-1")
        #expect(try h.deliver(ServeHarness.event(id: "ticket-1", type: "ticket.created", user: bob)).status == 200)

        let dir = try h.directory()
        // Applied (their audit rows say so), then gone from the inbox after a second.
        #expect(try h.eventually { try dir.audit(limit: 1000).filter { $0.cause.hasPrefix("zendesk:rename-") }.count == 5 })
        #expect(try h.eventually {
            let events = try dir.events(limit: 1000)
            return !events.contains { settledIDs.contains($0.eventID) }
        })
        #expect(try dir.events(status: .applied).isEmpty && dir.events(status: .ignored).isEmpty)
        let stuck = try #require(try dir.events(limit: 1000).first { $0.eventID == "stuck-1" })
        #expect(stuck.status == .pending && stuck.attempts >= 1)
        #expect(try dir.audit(limit: 1000).filter { $0.cause.hasPrefix("zendesk:rename-") }.count == 5, "audit rows are kept")
        #expect(h.eventually { h.serve.log.contains("retention sweep") })
    }

    @Test func backupDuringAWebhookBurstPassesIntegrityCheckAndOpensWithTheCLI() throws {
        let h = try ServeHarness()
        try h.waitForImport()
        let burst = Burst(port: h.port, users: [ann, bob, chen], connections: 4, perConnection: 100)
        burst.start()
        #expect(h.eventually { burst.acked >= 20 })
        let copy = h.folder.path + "/backup"
        let backup = try h.cli(["backup", "--to", copy])
        #expect(backup.status == 0, "\(backup.err)")
        burst.wait()
        #expect(burst.acked == 400)

        let restored = try TenantDirectory(dataDir: copy, tenant: "abc-energy")
        #expect(try restored.integrityCheck() == "ok")
        let copied = try restored.events(limit: 100_000).count
        #expect(copied > 0 && copied <= 400)
        let list = try h.cli(["users", "list", "--tenant", "abc-energy", "--data-dir", copy, "--json"])
        #expect(list.status == 0, "\(list.err)")
        let users = try #require(try JSONSerialization.jsonObject(with: Data(list.out.utf8)) as? [[String: Any]])
        #expect(users.count == (try h.directory().users().count))
    }

    @Test(.enabled(if: SyncShim.compiler != nil, "needs a C compiler for the LD_PRELOAD shim"))
    func everyAcknowledgedEventWasSyncedBeforeIts200() throws {
        let shim = try SyncShim()
        let h = try ServeHarness(environment: ["LD_PRELOAD": shim.library, "SYNC_SHIM_LOG": shim.logPath])
        try h.waitForImport()
        let burst = Burst(port: h.port, users: [ann, bob, chen], connections: 4, perConnection: 50)
        burst.start()
        burst.wait()
        #expect(burst.acked == 200)
        h.serve.stop(signal: SIGTERM)

        let verdict = SyncShim.check(try shim.log())
        #expect(verdict.acknowledged == 200, "every 200 to a webhook was seen")
        #expect(verdict.syncs >= 1)
        #expect(verdict.unsynced.count == 0, "200s sent before their events were synced: \(verdict.unsynced.prefix(5))")
        // The check itself catches a 200 with no sync since its request.
        #expect(SyncShim.check(["R 7", "S 3", "W 7", "R 7", "W 7"]).unsynced == [4])
    }
}

/// Signed name-change events over several keep-alive connections at once.
final class Burst: @unchecked Sendable {
    private let port: Int, users: [String], connections: Int, perConnection: Int
    private let lock = NSLock()
    private var count = 0
    private let group = DispatchGroup()

    init(port: Int, users: [String], connections: Int, perConnection: Int) {
        (self.port, self.users, self.connections, self.perConnection) = (port, users, connections, perConnection)
    }

    var acked: Int { lock.withLock { count } }

    func start() {
        let start = Date()
        for worker in 0..<connections {
            group.enter()
            Thread.detachNewThread { [self] in
                defer { group.leave() }
                guard let c = try? RawClient(port: port) else { return }
                for i in 0..<perConnection {
                    let at = start.addingTimeInterval(Double(worker * perConnection + i) / 1000)
                    let body = ServeHarness.event(id: "burst-\(worker)-\(i)", type: "user.name_changed",
                                                  user: users[(worker + i) % users.count],
                                                  current: "\"Name \(worker)-\(i)\"", updatedAt: at)
                    c.send(ServeHarness.rawRequest(body))
                    guard let r = c.readResponse() else { return }
                    if r.status == 200 { lock.withLock { count += 1 } }
                }
            }
        }
    }

    func wait() { group.wait() }
}

/// An `LD_PRELOAD` library, compiled at test time, that logs in order: `S fd` after an
/// fsync/fdatasync of a SQLite file returns, `R fd` when a socket read brings a webhook
/// POST, `W fd` when a socket write of a 200 begins. The server reads with `recv` and
/// writes with `send` (Sources/HTTPServer/EventLoop.swift), so those are what it wraps;
/// the shim logs with plain `write`, which it does not wrap.
struct SyncShim {
    let folder = TemporaryFolder()
    let library: String
    let logPath: String

    static var compiler: String? {
        ["/usr/bin/cc", "/usr/local/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init() throws {
        let source = try folder.write("shim.c", Self.source)
        library = folder.path + "/shim.so"
        logPath = folder.path + "/sync.log"
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: Self.compiler ?? "/usr/bin/cc")
        cc.arguments = ["-shared", "-fPIC", "-O1", "-o", library, source, "-ldl", "-lpthread"]
        try cc.run()
        cc.waitUntilExit()
        guard cc.terminationStatus == 0 else { throw NSError(domain: "cc", code: Int(cc.terminationStatus)) }
    }

    func log() throws -> [String] {
        try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// For every `W fd`, whether a sync happened after the latest `R fd` before it.
    /// `unsynced` holds the line numbers of the 200s that went out without one.
    static func check(_ lines: [String]) -> (acknowledged: Int, syncs: Int, unsynced: [Int]) {
        var lastRead: [String: Int] = [:]
        var lastSync = -1, syncs = 0, acknowledged = 0
        var unsynced: [Int] = []
        for (i, line) in lines.enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { continue }
            let fd = String(parts[1])
            switch parts[0] {
            case "S": lastSync = i; syncs += 1
            case "R": lastRead[fd] = i
            case "W":
                guard let read = lastRead[fd] else { continue }
                acknowledged += 1
                if lastSync < read { unsynced.append(i) }
            default: break
            }
        }
        return (acknowledged, syncs, unsynced)
    }

    static let source = #"""
    #define _GNU_SOURCE
    #include <dlfcn.h>
    #include <fcntl.h>
    #include <pthread.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/socket.h>
    #include <sys/types.h>
    #include <unistd.h>

    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int logfd = -1;

    static void record(char kind, int fd) {
        pthread_mutex_lock(&lock);
        if (logfd < 0) {
            const char *path = getenv("SYNC_SHIM_LOG");
            if (path) logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        }
        if (logfd >= 0) {
            char line[32];
            int n = snprintf(line, sizeof line, "%c %d\n", kind, fd);
            if (write(logfd, line, n) < 0) {}
        }
        pthread_mutex_unlock(&lock);
    }

    static int is_sqlite(int fd) {
        char link[64], path[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, path, sizeof path - 1);
        if (n <= 0) return 0;
        path[n] = 0;
        size_t len = (size_t)n;
        return (len > 11 && strcmp(path + len - 11, ".sqlite-wal") == 0) || (len > 7 && strcmp(path + len - 7, ".sqlite") == 0);
    }

    int fsync(int fd) {
        static int (*real)(int);
        if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
        int rc = real(fd);
        if (rc == 0 && is_sqlite(fd)) record('S', fd);
        return rc;
    }

    int fdatasync(int fd) {
        static int (*real)(int);
        if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
        int rc = real(fd);
        if (rc == 0 && is_sqlite(fd)) record('S', fd);
        return rc;
    }

    ssize_t recv(int fd, void *buf, size_t len, int flags) {
        static ssize_t (*real)(int, void *, size_t, int);
        if (!real) real = (ssize_t (*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
        ssize_t n = real(fd, buf, len, flags);
        if (n > 0 && memmem(buf, (size_t)n, "POST /webhooks/", 15)) record('R', fd);
        return n;
    }

    ssize_t send(int fd, const void *buf, size_t len, int flags) {
        static ssize_t (*real)(int, const void *, size_t, int);
        if (!real) real = (ssize_t (*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
        if (len >= 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0) record('W', fd);
        return real(fd, buf, len, flags);
    }
    """#
}
}
