import App
import CLinux
import Glibc

clinux_tune_malloc()
exit(await UsersyncCLI.run(Array(CommandLine.arguments.dropFirst())))
