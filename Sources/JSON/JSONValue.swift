/// A whole JSON document as a tree, for small inputs read once (the config file, control
/// calls). Hot paths use `JSONReader` and never build one.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text, so callers decide how strictly to read it.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order.
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// Parses a complete document (nothing but whitespace may follow it).
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONReader.read(bytes) { r in
            let v = try value(&r)
            try r.expectEnd()
            return v
        }
    }

    private static func value(_ r: inout JSONReader) throws -> JSONValue {
        switch try r.peek() {
        case .null: _ = try r.readNull(); return .null
        case .bool: return .bool(try r.readBool())
        case .number: return .number(try r.readNumberText())
        case .string: return .string(try r.readString())
        case .array:
            var items: [JSONValue] = []
            try r.readArray { r in items.append(try value(&r)) }
            return .array(items)
        case .object:
            var members: [(String, JSONValue)] = []
            try r.readObject { r, key in members.append((key.string, try value(&r))) }
            return .object(members)
        }
    }

    /// The member `key` of an object (the last one when repeated).
    public subscript(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }
}
