// libFuzzer target over webhook decoding: the event decoder and the interpreter must never
// crash on any body, whatever it contains. The same bytes also go through the listing
// scan: it must never crash either, and where a full read of the array succeeds it must
// find the same elements.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebhook(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    scanAgreesWithTheFullRead(bytes)
    guard let event = try? ZendeskEvent.decode(bytes) else { return 0 }
    let snapshot = LinkSnapshot(name: "A", email: "a@x.com", role: "agent", customRole: nil, active: true, suspended: false, updatedAt: nil)
    _ = ZendeskEventInterpreter.interpret(event, snapshot: snapshot, identifier: .defaultMatching)
    _ = ZendeskEventInterpreter.interpret(event, snapshot: nil, identifier: .userField("k"))
    return 0
}

func scanAgreesWithTheFullRead(_ bytes: [UInt8]) {
    let scanned = try? JSONReader.read(bytes) { r in try r.scanArray() }
    guard let full = try? JSONReader.read(bytes, { r -> [Range<Int>] in
        var out: [Range<Int>] = []
        try r.readArray { r in out.append(try r.readRanged { try $0.skipValue() }.1) }
        return out
    }) else { return }
    guard let scanned, scanned.map(\.range) == full else { fatalError("scanArray disagrees with readArray") }
}
