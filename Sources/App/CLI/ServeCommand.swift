import Glibc
import Config
import Dispatch
import FoundationEssentials
import SyncRules
import Webhooks

/// `serve`: runs until SIGTERM/SIGINT (drains, exits 0); SIGHUP or a changed file reloads the config.
enum ServeCommand {
    static func run(_ words: [String], _ ctx: inout Context) async throws {
        let shard = try ctx.shard()
        let listen = try ctx.args.value("--listen").map { raw in
            guard let a = ListenAddress(raw) else { throw UsageError("--listen: '\(raw)' is not \(ListenAddress.form)") }
            return a
        }
        let adminListen = try ctx.args.value("--admin-listen").map { raw in
            guard let a = ListenAddress(raw) else { throw UsageError("--admin-listen: '\(raw)' is not \(ListenAddress.form)") }
            return a
        }
        try ctx.args.rejectUnknown(words: 1)
        if let admin = adminListen ?? ctx.config.adminListen, admin.clashes(with: listen ?? ctx.config.listen) {
            throw UsageError("--listen and --admin-listen (or admin_listen) name the same address: the admin API needs its own port")
        }
        let dataDirOverride = ctx.dataDir == ctx.config.dataDir ? nil : ctx.dataDir
        let service = Service(configPath: ctx.configPath, dataDirOverride: dataDirOverride, shardOverride: shard,
                              listenOverride: listen, config: ctx.config)
        // Instances sharing one config on one machine need their own ports.
        service.adminListenOverride = adminListen
        do {
            try service.start()
        } catch {
            throw OperationalError("cannot start: \(error)")
        }
        let queue = DispatchQueue(label: "usersync.signals")
        for s in [SIGTERM, SIGINT, SIGHUP] { signal(s, SIG_IGN) }
        let stop = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for s in [SIGTERM, SIGINT] {
            let src = DispatchSource.makeSignalSource(signal: s, queue: queue)
            src.setEventHandler { stop.signal() }
            src.resume()
            sources.append(src)
        }
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        hup.setEventHandler { service.reload(reason: "SIGHUP") }
        hup.resume()
        let watcher = DispatchSource.makeTimerSource(queue: queue)
        watcher.schedule(deadline: .now() + 2, repeating: 2)
        watcher.setEventHandler {
            service.checkFile()
            service.refreshWebhookSecrets()
        }
        watcher.resume()
        await BlockingThread.run { stop.wait() }
        watcher.cancel()
        service.log.info("stopping: draining in-flight requests")
        // Stopping waits for the schedulers' and appliers' tasks to end: that wait must not
        // hold a thread of the cooperative pool (nor of Dispatch's global queues, the same
        // threads on Linux), which those tasks need to finish.
        await BlockingThread.run { service.stop() }
        _ = sources
    }

}
