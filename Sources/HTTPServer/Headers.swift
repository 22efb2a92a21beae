/// Header fields in arrival order, looked up case-insensitively; duplicates are kept,
/// because framing checks must see every Content-Length and Transfer-Encoding line.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }

    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// Room for `count` fields, so a parsed head's fields go in without regrowing.
    mutating func reserve(_ count: Int) { fields.reserveCapacity(count) }

    /// The first value of `name`.
    public subscript(_ name: String) -> String? {
        for f in fields where Self.same(f.name, name) { return f.value }
        return nil
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { Self.same($0.name, name) }.map(\.value)
    }

    /// ASCII case-insensitive comparison without allocating lower-cased copies.
    static func same(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                for i in 0..<x.count where x[i] != y[i] {
                    let lx = x[i] >= 65 && x[i] <= 90 ? x[i] + 32 : x[i]
                    let ly = y[i] >= 65 && y[i] <= 90 ? y[i] + 32 : y[i]
                    if lx != ly { return false }
                }
                return true
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}
