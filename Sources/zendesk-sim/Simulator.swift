import Dispatch
import Foundation
import HTTPServer
import SimulatorSupport

/// zendesk-sim: a Zendesk simulator for tests, the demo and benchmarks.
@main
enum Simulator {
    static let usage = """
    Usage: zendesk-sim [--port N] [--host H] (--users FILE | --generate N) [--email E --token T]
                       [--client-id ID --client-secret S] [--webhook-url URL --webhook-secret S]
                       [--latency-ms N] [--fail-page N] [--loops N]

    Serves the Zendesk users API (list with role filters and cursor pagination, show, custom
    roles, incremental export), webhook creation, OAuth; /_sim/... changes users, pushes signed
    webhooks and injects faults. Prints "zendesk-sim listening on http://HOST:PORT" when ready.
    """

    static func main() {
        var process = SimulatorProcess(name: "zendesk-sim", usage: usage)
        func take(_ flag: String) -> String? { process.take(flag) }
        func fail(_ message: String, code: Int32) -> Never { process.fail(message, code: code) }
        let stats = SimulatorStats()
        let population = Population()
        let faults = Faults()
        let pusher = WebhookPusher(stats: stats)
        let auth = ZendeskAPI.Auth()
        var config = ServerConfiguration()
        config.port = Int(take("--port") ?? "9100") ?? 9100
        config.host = take("--host") ?? "127.0.0.1"
        config.loops = Int(take("--loops") ?? "0") ?? 0
        config.maxConnections = 4096
        auth.email = take("--email")
        auth.token = take("--token")
        if let id = take("--client-id") { auth.clientID = id }
        if let s = take("--client-secret") { auth.clientSecret = s }
        faults.latencyMillis = Int(take("--latency-ms") ?? "0") ?? 0
        faults.failPage = Int(take("--fail-page") ?? "0") ?? 0
        do {
            if let file = take("--users") { try population.load(file: file) }
            if let n = take("--generate").flatMap(Int.init) { population.generate(n) }
        } catch {
            fail("\(error)", code: 2)
        }
        if let url = take("--webhook-url"), let secret = take("--webhook-secret") {
            pusher.register(.init(id: "01SIMULATOR", url: url, secret: secret))
        }
        process.rejectUnknown()

        var router = Router()
        ZendeskAPI(population: population, faults: faults, stats: stats, pusher: pusher, auth: auth).install(into: &router)
        Control(population: population, faults: faults, stats: stats, pusher: pusher).install(into: &router)
        router.on("GET", "/healthz") { _ in .ok }
        let server = HTTPServer(configuration: config, router: router)
        process.serve(server, detail: "\(population.count) users") { port in
            population.base = "http://\(config.host):\(port)"
        }
    }
}
