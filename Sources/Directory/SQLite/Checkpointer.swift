import CSQLite
import Dispatch
import Synchronization

/// Copies a tenant's WAL back into its database file on a queue of its own, with its own
/// connection, so that no commit waits for it.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses 1000 WAL pages: the
/// inbox writer's group commit, whose senders are waiting for their 200, then also copied
/// ~4 MB into the database file and fsynced it (commits of hundreds of ms under load). A
/// passive checkpoint on another connection needs no write lock, so commits go on while it
/// runs; it is still durable, since the WAL frames it copies were fsynced at their commit.
final class Checkpointer: Sendable {
    /// WAL pages after which a background checkpoint is asked for (SQLite's own default).
    static let backgroundPages: Int32 = 1000
    /// WAL pages after which the committing connection checkpoints inline after all: the
    /// queue cannot keep up, and the WAL must not grow without bound.
    static let inlinePages: Int32 = 50_000

    private let path: String
    private let queue: DispatchQueue
    private let scheduled = Atomic<Bool>(false)
    /// Opened on the queue at the first checkpoint; only the queue touches it.
    private nonisolated(unsafe) var connection: Connection?

    init(path: String) {
        self.path = path
        queue = DispatchQueue(label: "usersync.checkpoint")
    }

    /// Installs the hook on `writer` that replaces SQLite's automatic checkpoint; the
    /// writer keeps this checkpointer alive (the hook itself holds it unretained).
    func attach(to writer: Connection) {
        writer.checkpointer = self
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(writer.handle, { context, db, _, pages in
            guard let context else { return SQLITE_OK }
            let checkpointer = Unmanaged<Checkpointer>.fromOpaque(context).takeUnretainedValue()
            if pages >= Checkpointer.inlinePages {
                sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            } else if pages >= Checkpointer.backgroundPages {
                checkpointer.request()
            }
            return SQLITE_OK
        }, context)
    }

    /// Asks for one checkpoint; requests made while one is pending are merged into it.
    func request() {
        guard !scheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.async { [self] in
            scheduled.store(false, ordering: .releasing)
            checkpoint()
        }
    }

    private func checkpoint() {
        if connection == nil {
            // Until a connection has read the database it does not know it is in WAL mode,
            // and a checkpoint on it does nothing.
            connection = try? Connection(path: path)
            _ = try? connection?.first("PRAGMA journal_mode") { $0.text(0) }
        }
        guard let db = connection else { return }
        // A busy checkpointer lock means another connection is checkpointing: nothing to do.
        sqlite3_wal_checkpoint_v2(db.handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
    }

    /// Waits until requested checkpoints have run (for tests and an orderly close).
    func drain() { queue.sync {} }
}
