// swift-tools-version:6.0
// usersync: keeps a QA platform's user directory in step with Zendesk / Intercom.
// No Swift package dependencies: C libraries come from the system (see README).
import PackageDescription

// How the release usersync binary is linked (issue 10: peak RSS of a reconcile).
// - The Swift runtime is static: only the code it uses is mapped, instead of whole shared
//   libraries and their relocations.
// - lld with packed relative relocations (DT_RELR, glibc >= 2.36): the table the loader
//   reads at start shrinks from about 900 KB to 8 KB, and the binary stays position
//   independent. Nothing looks our symbols up at run time, so none are exported either.
// - Functions that a reconcile runs are laid out together (hot-functions.txt, written by
//   scripts/hot-functions; each of our functions has its own section so it can move), so
//   the pages they touch are few. A stale list costs memory, never correctness.
let releaseLink = [
    "-static-stdlib", "-Xlinker", "-l_FoundationCShims", "-Xlinker", "-l_FoundationCollections",
    "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
    "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/usersync/hot-functions.txt",
    "-Xlinker", "--no-warn-symbol-ordering",
]

let package = Package(
    name: "usersync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "usersync", targets: ["usersync"]),
        .executable(name: "zendesk-sim", targets: ["zendesk-sim"]),
        .executable(name: "webhook-load", targets: ["webhook-load"]),
        .executable(name: "intercom-sim", targets: ["intercom-sim"]),
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

        // HMAC, constant-time compare, hex, base64, and the desks' webhook signatures: a leaf
        // on libcrypto alone, so simulators and the load generator need neither SQLite nor curl.
        .target(name: "Signing", dependencies: ["CCrypto"]),
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
        .target(name: "Desks", dependencies: ["Config", "SyncRules", "HTTPClient", "JSON", "CCrypto", "Signing"]),
        // Full and incremental reconciliation: streams a source into the directory.
        .target(name: "Reconciliation", dependencies: ["SyncRules", "Directory", "Desks"]),
        // HTTP/1.1 server on raw POSIX sockets; knows nothing of Zendesk.
        .target(name: "HTTPServer", dependencies: ["CLinux", "CTLS"]),
        // Webhook signatures, event decoding and the inbox path.
        .target(name: "Webhooks", dependencies: ["Signing", "SyncRules", "Directory", "Desks", "JSON"]),
        // Wiring: CLI commands and `serve`. The only module that imports everything.
        .target(name: "App", dependencies: [
            "SyncRules", "Directory", "Config", "HTTPClient", "Desks", "Reconciliation", "HTTPServer", "Webhooks", "JSON", "Signing",
        ]),
        .executableTarget(name: "usersync", dependencies: ["App", "CLinux"], exclude: ["hot-functions.txt"],
                          linkerSettings: [.unsafeFlags(releaseLink, .when(configuration: .release))]),
        // Load generator for scripts/bench: signed Zendesk events over keep-alive connections.
        .executableTarget(name: "webhook-load", dependencies: ["Signing", "CLinux", "SyncRules"]),
        // What the desk simulators share: flags, serving until SIGTERM, counters.
        .target(name: "SimulatorSupport", dependencies: ["HTTPServer"]),
        .executableTarget(name: "zendesk-sim", dependencies: ["SimulatorSupport", "HTTPServer", "HTTPClient", "Signing", "SyncRules", "JSON", "CCrypto"]),
        // The Intercom simulator: admins API, /me, OAuth, signed notification pushes, faults.
        .executableTarget(name: "intercom-sim", dependencies: ["SimulatorSupport", "HTTPServer", "HTTPClient", "Signing", "SyncRules", "JSON"]),

        // Test helpers: temporary folders, the simulator process, raw sockets.
        .target(name: "TestSupport", dependencies: ["HTTPClient", "CSQLite"], path: "Tests/TestSupport"),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        // A receiver in its own process, for tests that lower or measure process limits.
        .executableTarget(name: "http-probe", dependencies: ["HTTPServer"], path: "Tests/HTTPProbe"),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "HTTPClient", "TestSupport", "http-probe"]),
        .testTarget(name: "WebhooksTests", dependencies: ["Desks", "Config", "Signing", "Webhooks", "Directory", "SyncRules", "TestSupport"]),
        .testTarget(name: "ServeTests", dependencies: ["Signing", "Webhooks", "Directory", "SyncRules", "HTTPClient", "TestSupport"]),
        .testTarget(name: "SyncRulesTests", dependencies: ["SyncRules"]),
        .testTarget(name: "SigningTests", dependencies: ["Signing"]),
        .testTarget(name: "IntercomTests", dependencies: ["Desks", "SyncRules", "Signing", "HTTPClient", "HTTPServer", "TestSupport"]),
        .testTarget(name: "DirectoryTests", dependencies: ["Directory", "SyncRules", "CSQLite"], exclude: ["Fixtures"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "Desks", "SyncRules"]),
        .testTarget(name: "AppTests", dependencies: ["App", "Config", "Directory", "SyncRules", "TestSupport"]),
        .testTarget(name: "ReconciliationTests", dependencies: [
            "App", "Config", "Directory", "SyncRules", "Desks", "Reconciliation", "HTTPClient", "TestSupport",
        ]),
    ],
    swiftLanguageModes: [.v6]
)

// Each function in its own section, so the release link can order them (see releaseLink).
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? [])
        + [.unsafeFlags(["-Xfrontend", "-function-sections"], .when(configuration: .release))]
}
