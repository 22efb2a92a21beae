#if canImport(Glibc)
import Glibc
#endif

/// A pull reader over JSON bytes that decodes only the fields a caller asks for and skips
/// the rest without building a tree.
///
/// It exists because reconciliation reads pages of 100 Zendesk users with ~40 fields each,
/// of which the rules need ten: Foundation's decoders spend ~10 µs a user building values
/// nobody reads. Syntax is still checked for everything, read or skipped.
public struct JSONReader {
    /// The bytes being read; valid only inside `read(_:_:)`.
    @usableFromInline let bytes: UnsafeBufferPointer<UInt8>
    public internal(set) var position: Int
    /// Objects and arrays open around the current position.
    private var depth = 0
    /// Where keys that had escapes are decoded to (allocated on the first one, freed by
    /// the `read` that made the reader): keys stay plain pointers, with nothing to
    /// retain or release for the ~40 keys of every user. A decoded key is at most three
    /// times its text (escapes shrink; an invalid byte becomes a 3-byte U+FFFD), so
    /// `3 * bytes.count` bytes hold them all and never move.
    private var decodedKeys: UnsafeMutablePointer<UInt8>?
    private var decodedKeysUsed = 0

    /// How deeply objects and arrays may nest: deeper input is refused before it can
    /// recurse (a hostile body must not exhaust an event loop's stack).
    public static let maxDepth = 64

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.position = 0
    }

    /// Reads `data` with `body`. The reader and the keys it hands out point into `data`
    /// and must not escape `body` (which is what lets them skip reference counting).
    public static func read<T>(_ data: [UInt8], _ body: (inout JSONReader) throws -> T) rethrows -> T {
        try data.withUnsafeBufferPointer { buf in
            var reader = JSONReader(buf)
            defer { reader.releaseKeys() }
            return try body(&reader)
        }
    }

    /// Frees the decoded keys: the keys handed out must not outlive this.
    mutating func releaseKeys() {
        decodedKeys?.deallocate()
        decodedKeys = nil
    }

    public enum Kind: Sendable { case object, array, string, number, bool, null }

    /// Input the reader refuses, with the byte offset where it was found. A body nested
    /// too deeply is refused like malformed syntax (callers answer both with 400).
    public struct SyntaxError: Error, CustomStringConvertible, Sendable {
        public enum Kind: Sendable, Equatable {
            case malformed
            /// Objects and arrays nested deeper than `JSONReader.maxDepth`.
            case tooDeep
        }
        public var kind: Kind = .malformed
        public var offset: Int
        public var message: String
        public var description: String { "invalid JSON at byte \(offset): \(message)" }
    }

    func fail(_ message: String) -> SyntaxError { SyntaxError(offset: position, message: message) }

    private mutating func enter() throws {
        guard depth < Self.maxDepth else {
            throw SyntaxError(kind: .tooDeep, offset: position, message: "nested deeper than \(Self.maxDepth) levels")
        }
        depth += 1
    }

    @inline(__always)
    mutating func skipSpace() {
        // Pages from APIs are mostly compact: the common case is no space at all.
        if position < bytes.count, bytes[position] > 0x20 { return }
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// The kind of the next value.
    public mutating func peek() throws -> Kind {
        skipSpace()
        guard position < bytes.count else { throw fail("unexpected end") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw fail("unexpected character")
        }
    }

    @inline(__always)
    mutating func expect(_ c: UInt8) throws {
        skipSpace()
        guard position < bytes.count, bytes[position] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        position += 1
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard position + n <= bytes.count else { throw fail("unexpected end") }
        guard memcmp(bytes.baseAddress! + position, word.utf8Start, n) == 0 else { throw fail("invalid literal") }
        position += n
    }

    /// Reads an object, calling `field` with each key; the callee must read or skip the value.
    public mutating func readObject(_ field: (inout JSONReader, JSONKey) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        try enter()
        defer { depth -= 1 }
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return }
        while true {
            skipSpace()
            let key = try readKey()
            try expect(UInt8(ascii: ":"))
            let before = position
            try field(&self, key)
            if position == before { try skipValue() }
            skipSpace()
            guard position < bytes.count else { throw fail("unexpected end in object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    /// Reads an array, calling `element` for each item; the callee must read or skip it.
    public mutating func readArray(_ element: (inout JSONReader) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        try enter()
        defer { depth -= 1 }
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return }
        while true {
            let before = position
            try element(&self)
            if position == before { try skipValue() }
            skipSpace()
            guard position < bytes.count else { throw fail("unexpected end in array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func readKey() throws -> JSONKey {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a key") }
        let start = position + 1
        let i = StringRun.plainEnd(bytes, from: start)
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
            position = i + 1
            return JSONKey(start: bytes.baseAddress! + start, count: i - start)
        }
        let text = try readString()
        if decodedKeys == nil { decodedKeys = .allocate(capacity: 3 * bytes.count) }
        let n = text.utf8.count
        guard decodedKeysUsed + n <= 3 * bytes.count else { throw fail("key too long") }
        let at = decodedKeys! + decodedKeysUsed
        _ = UnsafeMutableBufferPointer(start: at, count: n).initialize(from: text.utf8)
        decodedKeysUsed += n
        return JSONKey(start: UnsafePointer(at), count: n)
    }

    /// Consumes `null` if it is next.
    public mutating func readNull() throws -> Bool {
        if try peek() == .null { try literal("null"); return true }
        return false
    }

    public mutating func readBool() throws -> Bool {
        switch try peek() {
        case .bool:
            if bytes[position] == UInt8(ascii: "t") { try literal("true"); return true }
            try literal("false")
            return false
        default: throw fail("expected true or false")
        }
    }

    public mutating func readString() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = position
        position = StringRun.plainEnd(bytes, from: start)
        guard position < bytes.count else { throw fail("unterminated string") }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            position += 1
            return s
        case UInt8(ascii: "\\"): return try readEscaped(from: start)
        default: throw fail("control character in string")
        }
    }

    /// Skips a string, refusing exactly what `readString` refuses (an unpaired surrogate
    /// escape, which `skipValue` lets through), without making a String of plain text.
    public mutating func skipStringAsRead() throws {
        try expect(UInt8(ascii: "\""))
        let start = position
        position = StringRun.plainEnd(bytes, from: start)
        guard position < bytes.count else { throw fail("unterminated string") }
        switch bytes[position] {
        case UInt8(ascii: "\""): position += 1
        case UInt8(ascii: "\\"): _ = try readEscaped(from: start)
        default: throw fail("control character in string")
        }
    }

    private mutating func readEscaped(from start: Int) throws -> String {
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let c = bytes[position]
            position += 1
            if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            if c < 0x20 { throw fail("control character in string") }
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard position < bytes.count else { break }
            let e = bytes[position]
            position += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("unpaired surrogate")
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default: throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    private mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            position += 1
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = v << 4 | UInt32(c - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = v << 4 | UInt32(c - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = v << 4 | UInt32(c - 55)
            default: throw fail("bad \\u escape")
            }
        }
        return v
    }

    /// The text of a number (validated against the JSON grammar).
    public mutating func readNumberText() throws -> String {
        guard try peek() == .number else { throw fail("expected a number") }
        let start = position
        try scanNumber()
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    public mutating func readInt64() throws -> Int64 {
        let text = try readNumberText()
        guard let v = Int64(text) else { throw fail("expected a whole number") }
        return v
    }

    private mutating func scanNumber() throws {
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        func digits() -> Int {
            let s = position
            while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 { position += 1 }
            return position - s
        }
        guard position < bytes.count else { throw fail("bad number") }
        if bytes[position] == UInt8(ascii: "0") { position += 1 } else if digits() == 0 { throw fail("bad number") }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw fail("bad number") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw fail("bad number") }
        }
    }

    /// A string, or a number given as text (Zendesk sends ids both ways); nil for null.
    public mutating func readScalarText() throws -> String? {
        switch try peek() {
        case .null: try literal("null"); return nil
        case .string: return try readString()
        case .number: return try readNumberText()
        case .bool: return try readBool() ? "true" : "false"
        default: throw fail("expected a string or number")
        }
    }

    /// A string, or nil for null.
    public mutating func readOptionalString() throws -> String? {
        try readNull() ? nil : try readString()
    }

    public mutating func skipValue() throws {
        skipSpace()
        guard position < bytes.count else { throw fail("unexpected end") }
        // On the byte itself, not `peek()`: most of a page's values are skipped.
        switch bytes[position] {
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try scanNumber()
        case UInt8(ascii: "{"): try readObject { r, _ in try r.skipValue() }
        case UInt8(ascii: "["): try readArray { try $0.skipValue() }
        default: throw fail("unexpected character")
        }
    }

    private mutating func skipString() throws {
        position += 1
        while position < bytes.count {
            position = StringRun.plainEnd(bytes, from: position)
            guard position < bytes.count else { break }
            let c = bytes[position]
            if c == UInt8(ascii: "\"") { position += 1; return }
            if c < 0x20 { throw fail("control character in string") }
            if c == UInt8(ascii: "\\") {
                guard position + 1 < bytes.count else { break }
                switch bytes[position + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 2
                case UInt8(ascii: "u"):
                    position += 2
                    _ = try hex4()
                default:
                    throw fail("invalid escape")
                }
                continue
            }
            position += 1
        }
        throw fail("unterminated string")
    }

    /// Checks that nothing but whitespace follows the value just read.
    public mutating func expectEnd() throws {
        skipSpace()
        guard position == bytes.count else { throw fail("unexpected data after the value") }
    }
}

/// An object key, compared against literals without allocating: its bytes, in the input
/// or (for a key with escapes) decoded by the reader, valid while the reader's `read` runs.
public struct JSONKey {
    @usableFromInline let start: UnsafePointer<UInt8>
    /// The key's length in bytes, for a cheap first dispatch before comparing text.
    public let count: Int

    init(start: UnsafePointer<UInt8>, count: Int) {
        self.start = start
        self.count = count
    }

    @inlinable
    public static func == (key: JSONKey, literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        // Length and first byte reject almost every non-matching key at once.
        guard key.count == n else { return false }
        guard n > 0 else { return true }
        let p = literal.utf8Start
        guard key.start[0] == p[0] else { return false }
        return memcmp(key.start, p, n) == 0
    }

    public var string: String { String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self) }
}
