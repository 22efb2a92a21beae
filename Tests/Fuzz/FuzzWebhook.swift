// libFuzzer target over webhook decoding: the event decoder and the interpreter must never
// crash on any body, whatever it contains, and the intake's envelope must refuse exactly
// the bodies the decoder refuses. The same bytes also go through the listing scan: it must
// never crash either, and where a full read of the array succeeds it must find the same
// elements.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebhook(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    scanAgreesWithTheFullRead(bytes)
    let envelope = try? ZendeskEvent.envelope(bytes)
    guard let event = try? ZendeskEvent.decode(bytes) else {
        if envelope != nil { fatalError("the envelope accepts a body the decoder refuses") }
        return 0
    }
    guard let envelope, envelope.id == event.id, envelope.type == event.type, envelope.userID == event.userID else {
        fatalError("the envelope disagrees with the decoder")
    }
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
