// A receiver in a process of its own, for tests that must change what a whole process
// has (a lowered RLIMIT_NOFILE) or measure it (memory across many TLS handshakes).
// Usage: http-probe [--nofile N] [--tls CERT KEY] [--head-timeout SECONDS]
import Glibc
import HTTPServer

var config = ServerConfiguration()
config.port = 0
config.loops = 1
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    switch flag {
    case "--nofile":
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = rlim_t(arguments.popFirst().flatMap { Int($0) } ?? 64)
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    case "--tls":
        config.tls = .init(certificateFile: arguments.popFirst() ?? "", keyFile: arguments.popFirst() ?? "")
    case "--head-timeout":
        config.headTimeout = arguments.popFirst().flatMap { Double($0) } ?? 10
    default:
        print("http-probe: unknown argument \(flag)")
        exit(2)
    }
}
var router = Router()
router.on("GET", "/hello") { _ in HTTPResponse(status: 200, text: "hi") }
let server = HTTPServer(configuration: config, router: router)
do {
    try server.start()
} catch {
    print("http-probe: \(error)")
    exit(1)
}
// One write(2), unbuffered: the test waits for this line on a pipe.
let ready = "listening on http://127.0.0.1:\(server.port)\n"
_ = write(1, ready, ready.utf8.count)
while true { pause() }
