import App
import CLinux
import Dispatch
import Glibc

clinux_tune_malloc()

// The command runs on the concurrency pool while this thread waits for it. An async
// top-level main would instead park this thread in dispatch_main, which ends it by
// pthread_exit; that forced unwind reads about 650 KB of unwind tables into memory
// for nothing (issue 10: peak RSS of a reconcile).
nonisolated(unsafe) var status: Int32 = 1
let done = DispatchSemaphore(value: 0)
let arguments = Array(CommandLine.arguments.dropFirst())
Task.detached {
    status = await UsersyncCLI.run(arguments)
    done.signal()
}
done.wait()
exit(status)
