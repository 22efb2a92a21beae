import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import SyncRules

/// What every command needs: the loaded config, the data folder, and the tenant chosen.
struct Context {
    var args: Arguments
    let console: Console
    let configPath: String
    let config: UsersyncConfig
    let dataDir: String

    init(args: Arguments, console: Console) throws {
        var args = args
        configPath = args.value("--config") ?? "./usersync.json"
        let dataDirOverride = args.value("--data-dir")
        self.console = console
        do {
            config = try UsersyncConfig.load(path: configPath, desks: DeskRegistry.all)
        } catch let e as ConfigError {
            throw ConfigFailure(path: configPath, error: e)
        }
        dataDir = dataDirOverride ?? config.dataDir
        self.args = args
    }

    /// The tenant named by `--tenant`, or the only tenant when there is one.
    mutating func tenant() throws -> TenantConfig {
        if let id = args.value("--tenant") { return try inShard(lookup(id)) }
        guard config.tenants.count == 1 else {
            let ids = config.tenants.map(\.id).joined(separator: ", ")
            throw UsageError("--tenant is required: the config has \(config.tenants.count) tenants (\(ids))")
        }
        return try inShard(config.tenants[0])
    }

    /// `t`, when this instance's shard (`--tenants`, else `shard.tenants`) has it: another
    /// instance's tenant gets no database here, not even an empty one (SPEC §3, `shard`).
    mutating func inShard(_ t: TenantConfig) throws -> TenantConfig {
        let served = config.servedTenants(only: try shard())
        guard !served.contains(where: { $0.id == t.id }) else { return t }
        let ids = served.map(\.id).joined(separator: ", ")
        throw UsageError("tenant \(t.id) is not in this instance's shard (\(ids)); its directory is with the instance that serves it")
    }

    /// Tenants to report on: the one named by `--tenant`, else all of this instance's
    /// shard (`--tenants a,b` as given to its `serve`, else `shard.tenants`), so a shared
    /// config never creates or syncs other instances' tenants in this data directory.
    mutating func tenants() throws -> [TenantConfig] {
        if let id = args.value("--tenant") { return [try inShard(lookup(id))] }
        return config.servedTenants(only: try shard())
    }

    /// `--tenants a,b`: an instance's shard, winning over `shard.tenants` (SPEC §5).
    mutating func shard() throws -> [String]? {
        guard let raw = args.value("--tenants") else { return nil }
        let ids = raw.split(separator: ",").map { String($0).trimmedSpaces }.filter { !$0.isEmpty }
        let unknown = config.unknownTenants(ids)
        guard unknown.isEmpty else {
            let configured = config.tenants.map(\.id).joined(separator: ", ")
            throw UsageError("--tenants: unknown tenant(s) \(unknown.joined(separator: ", ")) (configured: \(configured))")
        }
        return ids
    }

    func lookup(_ id: String) throws -> TenantConfig {
        guard let t = config.tenant(id) else {
            throw UsageError("unknown tenant '\(id)' (configured: \(config.tenants.map(\.id).joined(separator: ", ")))")
        }
        return t
    }

    func directory(_ t: TenantConfig) throws -> TenantDirectory {
        try TenantDirectory(dataDir: dataDir, tenant: t.id)
    }

    mutating func source() throws -> SourceKind? {
        guard let raw = args.value("--source") else { return nil }
        guard let s = SourceKind(rawValue: raw) else { throw UsageError("--source must be zendesk or intercom, not '\(raw)'") }
        return s
    }

    /// Who an admin action is audited as when it comes from the CLI.
    var cliActor: String { "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown") }
}

/// A config file that failed to load: exit 2 with every problem listed.
struct ConfigFailure: Error, CustomStringConvertible {
    var path: String
    var error: ConfigError
    var description: String { "\(path): invalid config:\n" + error.problems.map { "  " + $0 }.joined(separator: "\n") }
}
