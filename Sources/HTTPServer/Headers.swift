/// Header fields in arrival order, looked up case-insensitively; duplicates are kept,
/// because framing checks must see every Content-Length and Transfer-Encoding line.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }

    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// The first value of `name`.
    public subscript(_ name: String) -> String? {
        for f in fields where f.name.count == name.count && f.name.lowercased() == name.lowercased() { return f.value }
        return nil
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}
