import Glibc
import Dispatch
import FoundationEssentials

/// Where a command's output goes: the terminal, or a buffer in tests.
public final class Console: @unchecked Sendable {
    private let capture: Bool
    private let lock = Lock()
    public private(set) var output = ""
    public private(set) var errors = ""

    public init(capture: Bool = false) { self.capture = capture }

    /// Writes all of `text` to a file descriptor.
    static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Whether stdout is a terminal (progress lines are for people, not pipes).
    public var isTerminal: Bool { !capture && isatty(1) == 1 }

    public func print(_ line: String) {
        lock.withLock {
            if capture { output += line + "\n" } else { Self.write(1, line + "\n") }
        }
    }

    public func error(_ line: String) {
        lock.withLock {
            if capture { errors += line + "\n" } else { Self.write(2, line + "\n") }
        }
    }

    /// Rewrites the current terminal line (progress); silent when not a terminal.
    public func progress(_ line: String) {
        guard isTerminal else { return }
        Self.write(2, "\r\u{1B}[K" + line)
    }
}
