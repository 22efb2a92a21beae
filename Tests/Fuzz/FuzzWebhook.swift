// libFuzzer target over webhook decoding: the event decoder and the interpreter must never
// crash on any body, whatever it contains.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebhook(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let event = try? ZendeskEvent.decode(bytes) else { return 0 }
    let snapshot = LinkSnapshot(name: "A", email: "a@x.com", role: "agent", customRole: nil, active: true, suspended: false, updatedAt: nil)
    _ = ZendeskEventInterpreter.interpret(event, snapshot: snapshot, identifier: .defaultMatching)
    _ = ZendeskEventInterpreter.interpret(event, snapshot: nil, identifier: .userField("k"))
    return 0
}
