import Dispatch
import Foundation
import HTTPServer

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

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("zendesk-sim: \(message)\n".utf8))
        exit(code)
    }

    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        func take(_ name: String) -> String? {
            guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
            let v = args[i + 1]
            args.removeSubrange(i...(i + 1))
            return v
        }
        if args.contains("--help") || args.contains("-h") {
            print(usage)
            exit(0)
        }
        let stats = Stats()
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
        if !args.isEmpty { fail("unknown arguments \(args)\n\(usage)", code: 2) }

        var router = Router()
        ZendeskAPI(population: population, faults: faults, stats: stats, pusher: pusher, auth: auth).install(into: &router)
        Control(population: population, faults: faults, stats: stats, pusher: pusher).install(into: &router)
        router.on("GET", "/healthz") { _ in .ok }
        let server = HTTPServer(configuration: config, router: router)
        do {
            try server.start()
        } catch {
            fail("\(error)", code: 1)
        }
        population.base = "http://\(config.host):\(server.port)"
        FileHandle.standardOutput.write(Data("zendesk-sim listening on http://\(config.host):\(server.port) (\(population.count) users)\n".utf8))

        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let stopQueue = DispatchQueue(label: "zendesk-sim.signals")
        let sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: stopQueue) }
        for s in sources {
            // @Sendable: the handler runs on the signal queue, not on the main actor.
            s.setEventHandler { @Sendable in
                server.stop()
                exit(0)
            }
            s.resume()
        }
        while true { sleep(3600) }
    }
}
