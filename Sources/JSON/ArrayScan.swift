/// One element of an array found by `JSONReader.scanArray()`: where its bytes are, and
/// the text of its top-level `id` member when it is an object that has a plain one.
public struct ScannedElement: Sendable {
    public let range: Range<Int>
    public let id: String?

    public init(range: Range<Int>, id: String?) {
        self.range = range
        self.id = id
    }
}

extension JSONReader {
    /// Finds the elements of the array at the current position by structure alone
    /// (strings, brackets, commas), reading of each object only its top-level `id`, and
    /// moves past the array.
    ///
    /// It exists for a listing whose users are mostly unchanged since the last run: those
    /// need their id and bytes, not a decode. The elements' syntax is not checked here:
    /// read an element with `read(_:in:_:)` before trusting it.
    public mutating func scanArray() throws -> [ScannedElement] {
        try expect(UInt8(ascii: "["))
        var out: [ScannedElement] = []
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return out }
        try Self.structure.withUnsafeBufferPointer { table in
            while true {
                skipSpace()
                let start = position
                let id = try scanElement(table)
                // A number or literal ends where the space before the comma begins.
                var end = position
                while end > start, bytes[end - 1] <= 0x20 { end -= 1 }
                out.append(ScannedElement(range: start..<end, id: id))
                skipSpace()
                guard position < bytes.count else { throw fail("unexpected end in array") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return }
                throw fail("expected ',' or ']'")
            }
        }
        return out
    }

    /// What the scan stops at: 1 a quote, 2 an opening bracket, 3 a closing one, 4 a comma,
    /// 5 the start of a literal, 6 of a number; every other byte (0) is passed over.
    private static let structure: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 256)
        for c in [UInt8(ascii: "n"), UInt8(ascii: "t"), UInt8(ascii: "f")] { t[Int(c)] = 5 }
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] = 6 }
        t[Int(UInt8(ascii: "-"))] = 6
        t[Int(UInt8(ascii: "\""))] = 1
        t[Int(UInt8(ascii: "{"))] = 2
        t[Int(UInt8(ascii: "["))] = 2
        t[Int(UInt8(ascii: "}"))] = 3
        t[Int(UInt8(ascii: "]"))] = 3
        t[Int(UInt8(ascii: ","))] = 4
        return t
    }()

    /// Moves past one element; returns its top-level `id` (a plain string or a number).
    /// One loop over raw pointers and a byte-class table: through `bytes[position]`, a
    /// `switch` on every byte and a call per string it cost 14 instructions a byte.
    private mutating func scanElement(_ table: UnsafeBufferPointer<UInt8>) throws -> String? {
        guard let p = bytes.baseAddress, position < bytes.count else { throw fail("unexpected end in array") }
        let t = table.baseAddress!
        let n = bytes.count
        var i = position
        defer { position = i }
        var depth = 0
        var id: String?
        let isObject = p[i] == UInt8(ascii: "{")
        // Inside the element's own object, whether the next string is a key.
        var keyNext = false
        while i < n {
            let k = t[Int(p[i])]
            if k == 0 { i += 1; continue }
            switch k {
            case 1:
                let start = i + 1
                var plain = true
                i = Self.stringEnd(p, n, from: start, plain: &plain)
                guard i < n else { throw fail("unterminated string") }
                i += 1
                if depth == 0 { return id }
                if depth == 1 && keyNext {
                    keyNext = false
                    if i - start == 3 && p[start] == UInt8(ascii: "i") && p[start + 1] == UInt8(ascii: "d") {
                        id = Self.scalarText(p, n, at: &i) ?? id
                    }
                }
            case 2:
                depth += 1
                guard depth <= Self.maxDepth else {
                    throw SyntaxError(kind: .tooDeep, offset: i, message: "nested deeper than \(Self.maxDepth) levels")
                }
                keyNext = depth == 1 && isObject
                i += 1
            case 3:
                if depth == 0 { return id }
                depth -= 1
                i += 1
                if depth == 0 { return id }
            case 5:
                // `null`, `true` or `false` passed whole (a third of the bytes between strings).
                i += Self.literalLength(p, n, at: i)
                if depth == 0 { return id }
            case 6:
                while i < n, Self.inNumber(p[i]) { i += 1 }
                if depth == 0 { return id }
            default:
                if depth == 0 { return id }
                keyNext = depth == 1 && isObject
                i += 1
            }
        }
        throw fail("unexpected end in array")
    }

    /// After a key at `i`: past `:` and its value when that is a plain string or a number,
    /// returning its text; otherwise nil, leaving the value to the scan.
    private static func scalarText(_ p: UnsafePointer<UInt8>, _ n: Int, at i: inout Int) -> String? {
        func space(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        var j = i
        while j < n, space(p[j]) { j += 1 }
        guard j < n, p[j] == UInt8(ascii: ":") else { return nil }
        j += 1
        while j < n, space(p[j]) { j += 1 }
        guard j < n else { return nil }
        let start: Int, end: Int
        if p[j] == UInt8(ascii: "\"") {
            var plain = true
            let e = stringEnd(p, n, from: j + 1, plain: &plain)
            guard e < n, plain else { return nil }
            (start, end) = (j + 1, e)
            i = e + 1
        } else {
            var e = j
            while e < n, inNumber(p[e]) { e += 1 }
            guard e > j else { return nil }
            (start, end) = (j, e)
            i = e
        }
        return String(decoding: UnsafeBufferPointer(start: p + start, count: end - start), as: UTF8.self)
    }

    /// The length of the literal at `i`, or 1 when the bytes there are not one.
    @inline(__always)
    private static func literalLength(_ p: UnsafePointer<UInt8>, _ n: Int, at i: Int) -> Int {
        guard n - i >= 4 else { return 1 }
        let w = UInt32(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt32.self))
        if w == 0x6c6c_756e || w == 0x6575_7274 { return 4 } // "null", "true"
        if w == 0x736c_6166, n - i >= 5, p[i + 4] == UInt8(ascii: "e") { return 5 } // "fals" + "e"
        return 1
    }

    private static func inNumber(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
            || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
    }

    /// The index of the quote that ends the string whose text starts at `start` (or `n`),
    /// honouring escapes but not checking them; `plain` is cleared when there is one.
    /// Eight bytes at a time: a word holding neither a quote nor a backslash is passed whole.
    @inline(__always)
    private static func stringEnd(_ p: UnsafePointer<UInt8>, _ n: Int, from start: Int, plain: inout Bool) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var i = start
        while true {
            while n - i >= 8 {
                let w = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
                let q = w ^ 0x2222_2222_2222_2222, b = w ^ 0x5c5c_5c5c_5c5c_5c5c
                let hit = ((q &- ones) & ~q | (b &- ones) & ~b) & highs
                if hit != 0 { i += hit.trailingZeroBitCount >> 3; break }
                i += 8
            }
            while i < n, p[i] != UInt8(ascii: "\""), p[i] != UInt8(ascii: "\\") { i += 1 }
            guard i < n, p[i] == UInt8(ascii: "\\") else { return i }
            plain = false
            i += 2
            if i >= n { return n }
        }
    }

    /// Reads the next value with `body`, also returning where its bytes are: the same range
    /// `scanArray()` gives the value as an element of an array.
    public mutating func readRanged<T>(_ body: (inout JSONReader) throws -> T) throws -> (T, Range<Int>) {
        skipSpace()
        let start = position
        let value = try body(&self)
        return (value, start..<position)
    }

    /// Reads `range` of `data` (an element `scanArray()` found) with `body`, checking all
    /// of its syntax, and that nothing else is in the range.
    public static func read<T>(_ data: [UInt8], in range: Range<Int>, _ body: (inout JSONReader) throws -> T) throws -> T {
        try data.withUnsafeBufferPointer { buf in
            var reader = JSONReader(UnsafeBufferPointer(rebasing: buf[range]))
            defer { reader.releaseKeys() }
            let value = try body(&reader)
            try reader.expectEnd()
            return value
        }
    }
}
