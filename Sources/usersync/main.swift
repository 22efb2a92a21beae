import App
import Glibc

exit(await UsersyncCLI.run(Array(CommandLine.arguments.dropFirst())))
