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
        let v = try read(#"{"id": 6596848315901, "sid": "42", "name": "Zo\u00eb \"Z\" \ud83d\ude00", "#
                         + #""a": [1, {"x": [true, null]}], "o": {"k": "v\n"}, "n": null, "b": false, "f": -1.5e3}"#)
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

    /// Decoded keys live in the reader until its `read` ends: an outer key is still whole
    /// after escaped keys inside its value were read, and keys whose invalid bytes decode
    /// to longer text (U+FFFD is three bytes) fit.
    @Test func escapedKeysStayValidAcrossNestedReads() throws {
        var bytes = Array(#"{"o\u0075ter": {"in\u006eer": 1, "\u00e9": 2}, ""#.utf8)
        bytes += [0xFF, 0xFE, 0xFF, 0xFE]
        bytes += Array(#"\u0041": 3}"#.utf8)
        var seen: [String] = []
        try JSONReader.read(bytes) { r in
            try r.readObject { r, key in
                if key == "outer" {
                    try r.readObject { r, inner in
                        seen.append(inner.string)
                        try r.skipValue()
                    }
                }
                seen.append(key.string)
            }
            try r.expectEnd()
        }
        #expect(seen == ["inner", "é", "outer", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}A"])
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

    /// Strings are scanned eight bytes at a time: a quote, backslash or control byte must
    /// be found at every offset within a word and in the byte-wise tail, in keys, read
    /// strings and skipped strings alike, and UTF-8 bytes above 0x7F must pass.
    @Test func specialBytesAreFoundAtEveryOffset() throws {
        for length in 0..<20 {
            let plain = String(repeating: "é", count: length / 2) + String(repeating: "a", count: length % 2)
            // Each escape as JSON text and as what it decodes to.
            for (special, meaning) in [(#"\""#, "\""), (#"\\"#, "\\"), (#"\n"#, "\n"), (#"\u00e9"#, "é")] {
                let text = plain + special + plain
                let decoded = try JSONReader.read(Array(#"{"\#(text)": "\#(text)"}"#.utf8)) { r -> (String, String) in
                    var out = ("", "")
                    try r.readObject { r, key in out = (key.string, try r.readString()) }
                    return out
                }
                let expected = plain + meaning + plain
                #expect(decoded.0 == expected && decoded.1 == expected)
                try JSONReader.read(Array(#"["\#(text)", 1]"#.utf8)) { r in try r.skipValue(); try r.expectEnd() }
            }
            // A raw control byte is refused wherever it falls.
            for bad in [plain + "\u{01}", "\u{1f}" + plain] {
                #expect(throws: JSONReader.SyntaxError.self) {
                    try JSONReader.read(Array("[\"\(bad)\"]".utf8)) { r in try r.skipValue() }
                }
                #expect(throws: JSONReader.SyntaxError.self) {
                    _ = try JSONReader.read(Array("\"\(bad)\"".utf8)) { r in try r.readString() }
                }
            }
            #expect(throws: JSONReader.SyntaxError.self) {
                try JSONReader.read(Array(#"["\#(plain)"#.utf8)) { r in try r.skipValue() }
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

    @Test func utf8IsCheckedWholeAndExactly() {
        #expect(JSONReader.isUTF8(Array(#"{"name":"plain ascii, longer than eight bytes"}"#.utf8)))
        #expect(JSONReader.isUTF8(Array(#"{"name":"Zoë Ångström 日本 🙂"}"#.utf8)))
        #expect(JSONReader.isUTF8([]))
        for bad: [UInt8] in [[0xFF], [0x41, 0xC3], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80]] {
            #expect(!JSONReader.isUTF8(Array("0123456789abcdef".utf8) + bad), "\(bad)")
            #expect(!JSONReader.isUTF8(bad + Array("tail".utf8)), "\(bad)")
        }
    }

    @Test func integersAreWrittenAsTheirDigits() {
        for v: Int64 in [0, 7, -5, 1_234_567_890_123, .max, .min] {
            var out: [UInt8] = [UInt8(ascii: "[")]
            JSONWriter.appendInteger(v, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == "[\(v)")
        }
    }
}
