/// Header fields in arrival order, looked up case-insensitively; duplicates are kept,
/// because framing checks must see every Content-Length and Transfer-Encoding line.
///
/// The fields are one copy of their bytes with ranges into it, made text only when asked
/// for: a webhook's handler reads three of its eight fields, and two Strings per field were
/// a dozen allocations a request.
public struct HTTPHeaders: Sendable, Sequence {
    private var bytes: [UInt8] = []
    private var spans: [(name: Range<Int>, value: Range<Int>)] = []

    public init() {}
    public init(_ fields: [(String, String)]) { for (n, v) in fields { add(n, v) } }

    public mutating func add(_ name: String, _ value: String) { add(name: name.utf8, value: value.utf8) }

    mutating func add<N: Collection<UInt8>, V: Collection<UInt8>>(name: N, value: V) {
        let n = bytes.count
        bytes.append(contentsOf: name)
        let v = bytes.count
        bytes.append(contentsOf: value)
        spans.append((name: n..<v, value: v..<bytes.count))
    }

    /// Room for `fields` fields of `bytes` bytes in all, so a parsed head goes in without
    /// regrowing.
    mutating func reserve(fields: Int, bytes count: Int) {
        spans.reserveCapacity(fields)
        bytes.reserveCapacity(count)
    }

    public var count: Int { spans.count }

    /// The first value of `name`.
    public subscript(_ name: String) -> String? {
        for s in spans where named(s.name, name) { return text(s.value) }
        return nil
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        spans.filter { named($0.name, name) }.map { text($0.value) }
    }

    /// The name and value bytes of field `i`, for checks that need no text.
    func field(at i: Int) -> (name: ArraySlice<UInt8>, value: ArraySlice<UInt8>) {
        (bytes[spans[i].name], bytes[spans[i].value])
    }

    private func text(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }

    private func named(_ r: Range<Int>, _ name: String) -> Bool { Self.same(bytes[r], name) }

    /// ASCII case-insensitive comparison of a field's name with `name`.
    static func same(_ a: ArraySlice<UInt8>, _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { b in
            guard a.count == b.count else { return false }
            return a.withUnsafeBufferPointer { a in
                for i in 0..<a.count where a[i] != b[i] {
                    let x = a[i] >= 65 && a[i] <= 90 ? a[i] + 32 : a[i]
                    let y = b[i] >= 65 && b[i] <= 90 ? b[i] + 32 : b[i]
                    if x != y { return false }
                }
                return true
            }
        }
    }

    public struct Iterator: IteratorProtocol {
        let headers: HTTPHeaders
        var index = 0
        public mutating func next() -> (name: String, value: String)? {
            guard index < headers.spans.count else { return nil }
            defer { index += 1 }
            let s = headers.spans[index]
            return (name: headers.text(s.name), value: headers.text(s.value))
        }
    }

    public func makeIterator() -> Iterator { Iterator(headers: self) }
}
