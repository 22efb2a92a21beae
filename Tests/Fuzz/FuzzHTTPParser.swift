// libFuzzer target over the HTTP request parser (built by scripts/fuzz, not by SwiftPM).
// Property: the parser never crashes, and feeding the input in two pieces gives exactly
// the same requests and refusals as feeding it whole.

func outcomes(_ chunks: [[UInt8]]) -> [String] {
    var p = RequestParser(limits: .init(maxHeadBytes: 4096, maxHeaderCount: 50, maxBodyBytes: 65_536))
    var out: [String] = []
    var head: HTTPRequestHead?
    loop: for (i, chunk) in chunks.enumerated() {
        p.feed(chunk)
        while true {
            if let h = head {
                // Refused requests have their bodies discarded, bounded like read ones.
                switch p.readBody(discard: h.refusal != nil) {
                case .incomplete: continue loop
                case .failure(let f): out.append("fail \(f.status) \(f.close)"); break loop
                case .complete(let b):
                    out.append("req \(h.method) \(h.target) \(h.path) \(h.query ?? "-") \(h.refusal?.status ?? 0) \(b.count) \(h.keepAlive)")
                    head = nil
                }
            } else {
                switch p.nextHead() {
                case .incomplete: continue loop
                case .failure(let f): out.append("fail \(f.status) \(f.close)"); break loop
                case .head(let h): head = h
                }
            }
            _ = i
        }
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = outcomes([bytes])
    let cut = size > 0 ? (Int(bytes[size / 2]) * 7) % (size + 1) : 0
    let split = outcomes([Array(bytes[0..<cut]), Array(bytes[cut...])])
    if whole != split {
        fatalError("split parsing differs at \(cut): \(whole) vs \(split)")
    }
    return 0
}
