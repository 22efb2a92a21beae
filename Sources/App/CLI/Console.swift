import Foundation

/// Where a command's output goes: the terminal, or a buffer in tests.
public final class Console: @unchecked Sendable {
    private let capture: Bool
    private let lock = NSLock()
    public private(set) var output = ""
    public private(set) var errors = ""

    public init(capture: Bool = false) { self.capture = capture }

    /// Whether stdout is a terminal (progress lines are for people, not pipes).
    public var isTerminal: Bool { !capture && isatty(STDOUT_FILENO) == 1 }

    public func print(_ line: String) {
        lock.withLock {
            if capture { output += line + "\n" } else { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        }
    }

    public func error(_ line: String) {
        lock.withLock {
            if capture { errors += line + "\n" } else { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
    }

    /// Rewrites the current terminal line (progress); silent when not a terminal.
    public func progress(_ line: String) {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }
}
