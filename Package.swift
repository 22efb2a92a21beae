// swift-tools-version:6.0
// usersync: keeps a QA platform's user directory in step with Zendesk / Intercom.
// No Swift package dependencies: C libraries come from the system (see README).
import PackageDescription

let package = Package(
    name: "usersync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "usersync", targets: ["usersync"]),
        .executable(name: "zendesk-sim", targets: ["zendesk-sim"]),
        .executable(name: "webhook-load", targets: ["webhook-load"]),
    ],
    targets: [
        // System libraries: module map + shim header with typed wrappers for variadic C.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libssl for the receiver's own TLS; separate from CCrypto so the server links
        // only what terminates TLS, and the signing code's module stays its own.
        .systemLibrary(name: "CTLS", pkgConfig: "libssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLinux"),

        // JSON reading (a skipping pull reader) and string quoting.
        .target(name: "JSON"),
        // Pure values and rules: no I/O.
        .target(name: "SyncRules"),
        // The per-tenant SQLite directory: users, links, inbox, runs, audit.
        .target(name: "Directory", dependencies: ["CSQLite", "SyncRules", "JSON"]),
        // The config file: load, validate, explain.
        .target(name: "Config", dependencies: ["SyncRules", "JSON"]),
        // Outbound HTTP on libcurl; knows nothing of Zendesk.
        .target(name: "HTTPClient", dependencies: ["CCurl"]),
        // Sources (desks): the Source protocol, Zendesk and Intercom REST clients.
        .target(name: "Desks", dependencies: ["SyncRules", "HTTPClient", "JSON", "CCrypto"]),
        // Full and incremental reconciliation: streams a source into the directory.
        .target(name: "Reconciliation", dependencies: ["SyncRules", "Directory", "Desks"]),
        // HTTP/1.1 server on raw POSIX sockets; knows nothing of Zendesk.
        .target(name: "HTTPServer", dependencies: ["CLinux", "CTLS"]),
        // Webhook signatures, event decoding and the inbox path.
        .target(name: "Webhooks", dependencies: ["CCrypto", "SyncRules", "Directory", "Desks", "JSON"]),
        // Wiring: CLI commands and `serve`. The only module that imports everything.
        .target(name: "App", dependencies: [
            "SyncRules", "Directory", "Config", "HTTPClient", "Desks", "Reconciliation", "HTTPServer", "Webhooks", "JSON",
        ]),
        .executableTarget(name: "usersync", dependencies: ["App", "CLinux"]),
        // Load generator for scripts/bench: signed Zendesk events over keep-alive connections.
        .executableTarget(name: "webhook-load", dependencies: ["Webhooks", "CLinux", "SyncRules"]),
        .executableTarget(name: "zendesk-sim", dependencies: ["HTTPServer", "HTTPClient", "Webhooks", "SyncRules", "JSON", "CCrypto"]),

        // Test helpers: temporary folders, the simulator process, raw sockets.
        .target(name: "TestSupport", dependencies: ["HTTPClient"], path: "Tests/TestSupport"),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        // A receiver in its own process, for tests that lower or measure process limits.
        .executableTarget(name: "http-probe", dependencies: ["HTTPServer"], path: "Tests/HTTPProbe"),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "HTTPClient", "TestSupport", "http-probe"]),
        .testTarget(name: "WebhooksTests", dependencies: ["Webhooks", "Directory", "SyncRules", "TestSupport"]),
        .testTarget(name: "ServeTests", dependencies: ["Webhooks", "Directory", "SyncRules", "HTTPClient", "TestSupport"]),
        .testTarget(name: "SyncRulesTests", dependencies: ["SyncRules"]),
        .testTarget(name: "DirectoryTests", dependencies: ["Directory", "SyncRules", "CSQLite"], exclude: ["Fixtures"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "SyncRules"]),
        .testTarget(name: "AppTests", dependencies: ["App", "Config", "Directory", "SyncRules", "TestSupport"]),
        .testTarget(name: "ReconciliationTests", dependencies: [
            "App", "Config", "Directory", "SyncRules", "Desks", "Reconciliation", "HTTPClient", "TestSupport",
        ]),
    ],
    swiftLanguageModes: [.v6]
)
