import JSON
import Testing

@Suite struct JSONReaderTests {
    func read(_ text: String) throws -> [String: String] {
        var out: [String: String] = [:]
        try JSONReader.read(Array(text.utf8)) { r in
            try r.readObject { r, key in
                switch try r.peek() {
                case .string, .number, .bool, .null: out[key.string] = try r.readScalarText() ?? "null"
                default: try r.skipValue()
                }
            }
            try r.expectEnd()
        }
        return out
    }

    @Test func readsScalarsAndSkipsNestedValues() throws {
        let v = try read(#"{"id": 6596848315901, "sid": "42", "name": "Zo\u00eb \"Z\" \ud83d\ude00", "a": [1, {"x": [true, null]}], "o": {"k": "v\n"}, "n": null, "b": false, "f": -1.5e3}"#)
        #expect(v["id"] == "6596848315901")
        #expect(v["sid"] == "42")
        #expect(v["name"] == "Zoë \"Z\" 😀")
        #expect(v["n"] == "null" && v["b"] == "false" && v["f"] == "-1.5e3")
        #expect(v["a"] == nil)
    }

    @Test func keysCompareAgainstLiterals() throws {
        var hits = 0
        try JSONReader.read(Array(#"{"name": 1, "na\u006de": 2}"#.utf8)) { r in
            try r.readObject { r, key in
                if key == "name" { hits += 1 }
                try r.skipValue()
            }
        }
        #expect(hits == 2)
    }

    @Test(arguments: ["", "{", "{\"a\"}", "{\"a\":}", "[1,]", "{\"a\":1,}", "\"\\x\"", "01", "-", "1.", "tru", "{\"a\":\"\u{01}\"}",
                      "{\"a\":1} x"])
    func rejectsInvalidJSON(text: String) {
        #expect(throws: JSONReader.SyntaxError.self) {
            try JSONReader.read(Array(text.utf8)) { r in
                try r.skipValue()
                try r.expectEnd()
            }
        }
    }

    @Test func unpairedSurrogatesAreRejectedWhenRead() {
        #expect(throws: JSONReader.SyntaxError.self) {
            _ = try JSONReader.read(Array(#""\ud800""#.utf8)) { r in try r.readString() }
        }
    }

    @Test func quotesStrings() {
        #expect(JSONWriter.quote("a\"b\\c\n\u{01}é") == #""a\"b\\c\n\u0001é""#)
        #expect(JSONWriter.quote(nil as String?) == "null")
    }

    /// `depth` arrays (or objects holding one key) nested around `0`.
    static func nested(_ depth: Int, objects: Bool = false) -> [UInt8] {
        let (open, close) = objects ? ("{\"k\":", "}") : ("[", "]")
        return Array((String(repeating: open, count: depth) + "0" + String(repeating: close, count: depth)).utf8)
    }

    static func refusedAsTooDeep(_ error: any Error) -> Bool { (error as? JSONReader.SyntaxError)?.kind == .tooDeep }

    @Test(arguments: [false, true]) func nestingUpTo64LevelsIsReadAnd65IsRefused(objects: Bool) throws {
        let ok = Self.nested(64, objects: objects)
        try JSONReader.read(ok) { r in
            try r.skipValue()
            try r.expectEnd()
        }
        #expect(try JSONValue.parse(ok) != .null)
        let deep = Self.nested(65, objects: objects)
        #expect { try JSONReader.read(deep) { r in try r.skipValue() } } throws: { Self.refusedAsTooDeep($0) }
        #expect { try JSONValue.parse(deep) } throws: { Self.refusedAsTooDeep($0) }
    }

    @Test func depthIsCountedAcrossSiblingsNotAccumulated() throws {
        // 1000 sibling arrays each 60 deep: the depth returns to zero after each one.
        let one = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        let text = "[" + Array(repeating: one, count: 1000).joined(separator: ",") + "]"
        try JSONReader.read(Array(text.utf8)) { r in try r.skipValue() }
    }

    @Test(arguments: [false, true]) func aHundredThousandLevelsAreRefusedWithoutCrashing(objects: Bool) {
        let body = Self.nested(100_000, objects: objects)
        #expect { try JSONReader.read(body) { r in try r.skipValue() } } throws: { Self.refusedAsTooDeep($0) }
        #expect { try JSONValue.parse(body) } throws: { Self.refusedAsTooDeep($0) }
    }
}
