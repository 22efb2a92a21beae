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
}
