/// The `host[:port]` grammar of RFC 3986 §3.2.2–3.2.3, which both a `Host` field (RFC 9110
/// §7.2) and the authority of an absolute-form target (RFC 9112 §3.2.2) must match.
/// A value outside it is 400: a server that guesses at a malformed authority is one a
/// proxy in front of it can be made to disagree with.
enum Authority {
    /// Whether `value` is `uri-host [ ":" port ]` with no userinfo. The empty value is
    /// valid (RFC 9110 §7.2: a target without authority sends `Host:` empty).
    static func isValid<C: Collection>(_ value: C) -> Bool where C.Element == UInt8 {
        var rest = value[...]
        if rest.first == UInt8(ascii: "[") {
            guard let close = rest.firstIndex(of: UInt8(ascii: "]")) else { return false }
            guard isIPLiteral(rest[rest.index(after: rest.startIndex)..<close]) else { return false }
            rest = rest[rest.index(after: close)...]
        } else {
            let end = rest.firstIndex(of: UInt8(ascii: ":")) ?? rest.endIndex
            guard isRegName(rest[rest.startIndex..<end]) else { return false }
            rest = rest[end...]
        }
        guard let colon = rest.first else { return true }
        guard colon == UInt8(ascii: ":") else { return false }
        return isPort(rest.dropFirst())
    }

    /// `*DIGIT`, at most 65535 (an empty port means the scheme's default).
    static func isPort<C: Collection>(_ digits: C) -> Bool where C.Element == UInt8 {
        guard digits.count <= 5 else { return false }
        var n = 0
        for c in digits {
            guard c >= 48 && c <= 57 else { return false }
            n = n * 10 + Int(c - 48)
        }
        return n <= 65_535
    }

    /// `reg-name = *( unreserved / pct-encoded / sub-delims )`; an IPv4 address is one too.
    static func isRegName<C: Collection>(_ name: C) -> Bool where C.Element == UInt8 {
        var i = name.startIndex
        while i != name.endIndex {
            let c = name[i]
            if c == UInt8(ascii: "%") {
                let a = name.index(after: i)
                guard a != name.endIndex, PercentDecoding.hex(name[a]) != nil else { return false }
                let b = name.index(after: a)
                guard b != name.endIndex, PercentDecoding.hex(name[b]) != nil else { return false }
                i = name.index(after: b)
                continue
            }
            guard isUnreserved(c) || isSubDelim(c) else { return false }
            i = name.index(after: i)
        }
        return true
    }

    /// The inside of `[...]`: an IPv6 address (hex groups, colons, an optional dotted
    /// IPv4 tail) or `vX.…` (IPvFuture). Shape only; the server never connects to it.
    static func isIPLiteral<C: Collection>(_ inside: C) -> Bool where C.Element == UInt8 {
        guard let first = inside.first else { return false }
        if first == UInt8(ascii: "v") || first == UInt8(ascii: "V") {
            guard let dot = inside.firstIndex(of: UInt8(ascii: ".")) else { return false }
            let version = inside[inside.index(after: inside.startIndex)..<dot]
            let tail = inside[inside.index(after: dot)...]
            return !version.isEmpty && version.allSatisfy { PercentDecoding.hex($0) != nil }
                && !tail.isEmpty && tail.allSatisfy { isUnreserved($0) || isSubDelim($0) || $0 == UInt8(ascii: ":") }
        }
        guard inside.count >= 2, inside.contains(UInt8(ascii: ":")) else { return false }
        return inside.allSatisfy { PercentDecoding.hex($0) != nil || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
    }

    static func isUnreserved(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    static func isSubDelim(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
            true
        default: false
        }
    }
}
