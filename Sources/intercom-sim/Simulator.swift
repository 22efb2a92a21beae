import Dispatch
import Foundation
import HTTPServer
import SimulatorSupport

/// intercom-sim: an Intercom simulator for tests, the demo and benchmarks. A binary of its
/// own rather than a personality of zendesk-sim: the two desks share no endpoint, auth,
/// fault or push format, so one binary would only switch between two programs.
@main
enum Simulator {
    static let usage = """
    Usage: intercom-sim [--port N] [--host H] (--admins FILE | --generate N) [--token T]
                        [--app-id ID] [--region R] [--client-id ID --client-secret S]
                        [--webhook-url URL] [--retry-delay-ms N] [--latency-ms N] [--loops N]

    Serves the Intercom admins API (GET /admins, GET /admins/{id}, GET /me) with rate-limit
    headers, OAuth (GET /oauth, POST /auth/eagle/token), and pushes notifications signed
    with the client secret to a URL subscribed after a HEAD check; /_sim/... changes
    teammates, holds and reorders deliveries and injects faults. Regions are ignored.
    Prints "intercom-sim listening on http://HOST:PORT" when ready.
    """

    static func main() {
        var process = SimulatorProcess(name: "intercom-sim", usage: usage)
        func take(_ flag: String) -> String? { process.take(flag) }
        func fail(_ message: String, code: Int32) -> Never { process.fail(message, code: code) }
        let stats = SimulatorStats()
        let workspace = Workspace()
        let faults = Faults()
        let auth = IntercomAPI.Auth()
        let notifier = Notifier(stats: stats, faults: faults, workspace: workspace)
        var config = ServerConfiguration()
        config.port = Int(take("--port") ?? "9200") ?? 9200
        config.host = take("--host") ?? "127.0.0.1"
        config.loops = Int(take("--loops") ?? "0") ?? 0
        if let t = take("--token") { auth.add(token: t) }
        if let id = take("--client-id") { auth.clientID = id }
        if let s = take("--client-secret") { auth.clientSecret = s }
        faults.latencyMillis = Int(take("--latency-ms") ?? "0") ?? 0
        notifier.retryDelayMillis = Int(take("--retry-delay-ms") ?? "1000") ?? 1000
        do {
            if let file = take("--admins") { try workspace.load(file: file) }
            if let n = take("--generate").flatMap(Int.init) { workspace.generate(n) }
        } catch {
            fail("\(error)", code: 2)
        }
        if let a = take("--app-id") { workspace.appID = a }
        if let r = take("--region") { workspace.region = r.uppercased() }
        let webhookURL = take("--webhook-url")
        process.rejectUnknown()

        var router = Router()
        IntercomAPI(workspace: workspace, faults: faults, stats: stats, auth: auth).install(into: &router)
        Control(workspace: workspace, faults: faults, stats: stats, notifier: notifier, secret: auth.clientSecret).install(into: &router)
        router.on("GET", "/healthz") { _ in .ok }
        let server = HTTPServer(configuration: config, router: router)
        process.serve(server, detail: "\(workspace.count) admins") { _ in
            if let webhookURL { notifier.registerEventually(url: webhookURL, secret: auth.clientSecret) }
        }
    }
}
