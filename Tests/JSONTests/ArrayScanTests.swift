import JSON
import Testing

/// `scanArray` finds what a full decode would: the same element ranges as `readRanged`,
/// and each object's own top-level `id`, whatever the strings and nesting around it.
@Suite struct ArrayScanTests {
    let page = """
        [ {"id": 1, "x": {"id": 9}, "s": "a,]}\\"{["},
          {"name": "id", "tags": ["id", {"id": 5}], "id":"s-2"} ,
          {"id": "e\\u0031"}, 7 , "str", [1, {"id": 3}], {}, {"id" : -4.5e1, "id2": 8}, true\n
        ]
        """

    func scanned(_ text: String) throws -> [ScannedElement] {
        try JSONReader.read(Array(text.utf8)) { r in
            let out = try r.scanArray()
            try r.expectEnd()
            return out
        }
    }

    @Test func findsEachElementAndItsOwnID() throws {
        let elements = try scanned(page)
        #expect(elements.map(\.id) == ["1", "s-2", nil, nil, nil, nil, nil, "-4.5e1", nil], "escaped ids are left to the decode")
        let bytes = Array(page.utf8)
        let texts = elements.map { String(decoding: bytes[$0.range], as: UTF8.self) }
        #expect(texts[3] == "7" && texts[4] == "\"str\"" && texts[6] == "{}" && texts[8] == "true")
        #expect(texts[0].hasPrefix("{\"id\": 1") && texts[0].hasSuffix("\"}"))
        // The ranges are the ones a full read gives each element.
        let ranged: [Range<Int>] = try JSONReader.read(bytes) { r in
            var out: [Range<Int>] = []
            try r.readArray { r in out.append(try r.readRanged { try $0.skipValue() }.1) }
            return out
        }
        #expect(ranged == elements.map(\.range))
        for e in elements { try JSONReader.read(bytes, in: e.range) { try $0.skipValue() } }
    }

    @Test func anElementIsCheckedWhenItIsRead() throws {
        let text = #"[{"id": 1, "a": tru}, {"id": 2}]"#
        let elements = try scanned(text)
        #expect(elements.map(\.id) == ["1", "2"])
        #expect(throws: JSONReader.SyntaxError.self) {
            try JSONReader.read(Array(text.utf8), in: elements[0].range) { try $0.skipValue() }
        }
    }

    @Test(arguments: ["[", "[{", "[{\"id\": 1}", "[\"abc", "[{\"a\": \"x\\\"}]", "{}", "[1}"])
    func refusesWhatIsNotAnArray(text: String) {
        #expect(throws: JSONReader.SyntaxError.self) { try scanned(text) }
    }

    @Test func refusesNestingDeeperThanTheReaderAllows() throws {
        let deep = "[" + String(repeating: "[", count: JSONReader.maxDepth + 1) + String(repeating: "]", count: JSONReader.maxDepth + 2)
        #expect(throws: JSONReader.SyntaxError.self) { try scanned(deep) }
        #expect(try scanned("[]").isEmpty)
    }
}
