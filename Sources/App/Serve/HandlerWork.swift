import Dispatch
import Synchronization

/// Where route handlers run what blocks (SQLite reads and writes, a token exchange): never
/// on an event loop, and never on Dispatch's global queues, whose threads on Linux are the
/// cooperative pool's, one per core, so a handler waiting for a lock would stall every
/// task. Serial queues get threads made as they need them; a few, taken in turn, let that
/// many handlers run at once and bound the threads an admin burst can take.
enum HandlerWork {
    private static let queues = (0..<4).map { DispatchQueue(label: "usersync.handlers.\($0)") }
    private static let turn = Atomic<Int>(0)

    static func async(_ body: @escaping @Sendable () -> Void) {
        let i = turn.wrappingAdd(1, ordering: .relaxed).oldValue
        queues[Int(UInt(bitPattern: i) % UInt(queues.count))].async(execute: body)
    }
}
