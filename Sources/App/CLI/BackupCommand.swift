import Config
import Directory
import FoundationEssentials

/// `backup --to DIR`: an online, consistent copy of every tenant database (SQLite's backup
/// API), safe while `serve` runs; the copy is a data directory of its own.
enum BackupCommand {
    static func run(_ words: [String], _ ctx: inout Context) throws {
        guard let to = ctx.args.value("--to"), !to.isEmpty else {
            throw UsageError("usage: usersync backup --to DIR [--tenant T | --tenants A,B]")
        }
        let tenants = try ctx.tenants()
        try ctx.args.rejectUnknown(words: 1)
        guard to != ctx.dataDir else { throw UsageError("--to must differ from the data directory") }
        for t in tenants {
            let started = Date()
            try ctx.directory(t).backup(toDataDir: to)
            ctx.console.print("tenant \(t.id): backed up to \(to)/tenants/\(t.id).sqlite in \(decimals(Date().timeIntervalSince(started), 2))s")
        }
    }
}
