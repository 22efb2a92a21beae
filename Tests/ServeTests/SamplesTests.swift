import Foundation
import TestSupport
import Testing

/// The production samples are accepted by the tools that will load them: promtool (rules
/// and their unit tests), nginx, Caddy, systemd, and usersync itself. A test whose tool is
/// not installed is skipped.
@Suite struct SamplesTests {
    static func tool(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `tool` to its end; its exit status and everything it printed.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], in folder: String? = nil, environment: [String: String] = [:]) throws
        -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        if let folder { p.currentDirectoryURL = URL(fileURLWithPath: folder) }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Copies the files of a samples folder into `folder`, replacing `replacements` in each.
    static func copy(_ sample: String, to folder: String, _ replacements: [(String, String)]) throws {
        let from = Products.samples + "/" + sample
        for name in try FileManager.default.contentsOfDirectory(atPath: from) {
            var text = try String(contentsOfFile: from + "/" + name, encoding: .utf8)
            for (a, b) in replacements { text = text.replacingOccurrences(of: a, with: b) }
            try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
        }
    }

    @Test(.enabled(if: tool("promtool") != nil)) func prometheusRulesPassPromtool() throws {
        let promtool = Self.tool("promtool")!
        let folder = Products.samples + "/prometheus"
        let check = try Self.run(promtool, ["check", "rules", "usersync-rules.yml"], in: folder)
        #expect(check.status == 0, "\(check.output)")
        let unit = try Self.run(promtool, ["test", "rules", "usersync-rules.test.yml"], in: folder)
        #expect(unit.status == 0, "\(unit.output)")
    }

    @Test(.enabled(if: tool("nginx") != nil && tool("openssl") != nil)) func nginxAcceptsBothProxyConfigs() throws {
        let tmp = TemporaryFolder()
        let cert = try Self.run(Self.tool("openssl")!, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=usersync.example.com",
                                                        "-keyout", tmp.path + "/privkey.pem", "-out", tmp.path + "/fullchain.pem"])
        #expect(cert.status == 0, "\(cert.output)")
        let certs = ("/etc/letsencrypt/live/usersync.example.com/", tmp.path + "/")
        try FileManager.default.createDirectory(atPath: tmp.path + "/single", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tmp.path + "/scale-out", withIntermediateDirectories: true)
        try Self.copy("nginx", to: tmp.path + "/single", [certs])
        try Self.copy("scale-out/nginx", to: tmp.path + "/scale-out", [certs, ("/etc/nginx/usersync/", tmp.path + "/scale-out/")])
        for site in ["single/usersync.conf", "scale-out/site.conf"] {
            let temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map { "\($0)_temp_path \(tmp.path)/\($0);" }.joined(separator: " ")
            let main = try tmp.write("nginx.conf", """
                pid \(tmp.path)/nginx.pid;
                error_log \(tmp.path)/error.log;
                events {}
                http { \(temps) access_log off; include \(tmp.path)/\(site); }
                """)
            let r = try Self.run(Self.tool("nginx")!, ["-t", "-q", "-p", tmp.path, "-e", tmp.path + "/error.log", "-c", main])
            #expect(r.status == 0, "\(site): \(r.output)")
        }
    }

    @Test(.enabled(if: tool("caddy") != nil)) func caddyAcceptsTheCaddyfile() throws {
        let tmp = TemporaryFolder()
        let r = try Self.run(Self.tool("caddy")!, ["validate", "--adapter", "caddyfile", "--config", Products.samples + "/caddy/Caddyfile"],
                             environment: ["HOME": tmp.path, "XDG_DATA_HOME": tmp.path, "XDG_CONFIG_HOME": tmp.path])
        #expect(r.status == 0, "\(r.output)")
    }

    @Test(.enabled(if: tool("systemd-analyze") != nil)) func systemdAcceptsTheUnits() throws {
        let tmp = TemporaryFolder()
        try Self.copy("systemd", to: tmp.path, [("/usr/local/bin/usersync", "/bin/true")])
        let r = try Self.run(Self.tool("systemd-analyze")!, ["verify", "--man=no", "./usersync.service", "./usersync@a.service"], in: tmp.path)
        #expect(r.status == 0 && !r.output.contains("Unknown"), "\(r.output)")
    }

    @Test func usersyncAcceptsTheSampleConfigs() throws {
        let secrets = ["USERSYNC_OPS_TOKEN", "ABC_ZENDESK_TOKEN", "ABC_ZENDESK_WEBHOOK_SECRET", "BELL_ZENDESK_TOKEN",
                       "BELL_ZENDESK_WEBHOOK_SECRET", "ABC_INTERCOM_TOKEN", "ABC_INTERCOM_CLIENT_SECRET"].reduce(into: [String: String]()) { $0[$1] = "x" }
        for config in ["usersync.json", "scale-out/usersync.json"] {
            let r = try Self.run(Products.path("usersync"), ["--config", Products.samples + "/" + config, "config", "check"], environment: secrets)
            #expect(r.status == 0 && !r.output.contains("warning"), "\(config): \(r.output)")
        }
    }
}
