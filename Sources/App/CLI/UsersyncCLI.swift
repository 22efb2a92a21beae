import Config
import Desks
import Directory
import Dispatch
import FoundationEssentials
import SyncRules

/// The `usersync` command line: parses, dispatches, and turns errors into messages and
/// exit codes (0 success, 1 operational failure, 2 usage or config error). No stack traces.
public enum UsersyncCLI {
    public static func run(_ argv: [String], console: Console = Console()) async -> Int32 {
        do {
            var args = try Arguments(argv)
            let help = args.flag("--help")
            guard let command = args.words.first else {
                console.print(Help.main)
                return help ? 0 : 2
            }
            if help {
                console.print(helpText(command))
                return 0
            }
            if command == "help" {
                console.print(args.words.count > 1 ? helpText(args.words[1]) : Help.main)
                return 0
            }
            if command == "config" {
                return try ConfigCommands.run(args: args, console: console)
            }
            var ctx = try Context(args: args, console: console)
            let sub = Array(ctx.args.words.dropFirst())
            switch command {
            case "users": try UserCommands.run(sub, &ctx)
            case "agents": try AgentCommands.run(sub, &ctx)
            case "status": try StatusCommand.run(sub, &ctx)
            case "audit": try AuditCommand.run(sub, &ctx)
            case "events": try EventCommands.run(sub, &ctx)
            case "reconcile": try await ReconcileCommand.run(sub, &ctx)
            case "backup": try BackupCommand.run(sub, &ctx)
            case "serve": try await ServeCommand.run(sub, &ctx)
            default:
                guard let desk = DeskRegistry.desk(named: command) else {
                    throw UsageError("unknown command '\(command)' (see usersync --help)")
                }
                try await DeskCommands.run(desk, sub, &ctx)
            }
            return 0
        } catch let e as UsageError {
            console.error("usersync: \(e.message)")
            return 2
        } catch let e as ConfigFailure {
            console.error("usersync: \(e)")
            return 2
        } catch let e as DirectoryError where e.isUserError {
            console.error("usersync: \(e)")
            return 1
        } catch {
            console.error("usersync: \(error)")
            return 1
        }
    }

    static func helpText(_ command: String) -> String {
        switch command {
        case "users": Help.users
        case "agents": Help.agents
        case "status": Help.status
        case "audit": Help.audit
        case "config": Help.config
        case "events": Help.events
        case "reconcile": Help.reconcile
        case "serve": Help.serve
        case let name where DeskRegistry.desk(named: name) != nil: Help.desk(DeskRegistry.desk(named: name)!)
        case "backup": Help.backup
        default: Help.main
        }
    }
}

/// `config check`.
enum ConfigCommands {
    static func run(args: Arguments, console: Console) throws -> Int32 {
        var args = args
        guard args.words.dropFirst().first == "check" else { throw UsageError("usage: usersync config check [--config PATH]") }
        let path = args.value("--config") ?? "./usersync.json"
        _ = args.value("--data-dir")
        try args.rejectUnknown(words: 2)
        let config: UsersyncConfig
        do {
            config = try UsersyncConfig.load(path: path, desks: DeskRegistry.all)
        } catch let e as ConfigError {
            throw ConfigFailure(path: path, error: e)
        }
        let problems = config.unreadableSecrets()
        for w in config.warnings { console.error("warning: \(w)") }
        guard problems.isEmpty else {
            throw ConfigFailure(path: path, error: ConfigError(problems: problems))
        }
        let sources = config.tenants.flatMap { t in
            t.sources.map { "\(t.id)/\($0.kind.rawValue) (\($0.enabled ? "enabled" : "disabled"))" }
        }
        console.print("\(path): ok — \(config.tenants.count) tenant(s); sources: \(sources.isEmpty ? "none" : sources.joined(separator: ", "))")
        return 0
    }
}
