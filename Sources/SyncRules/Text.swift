extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines (no Foundation here).
    public var trimmedSpaces: String {
        // On the end bytes first: `first` and `last` are Characters, found by grapheme
        // breaking, and a space Character is exactly one of these bytes.
        let isSpaceByte: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let whole = String(self)
        if let f = whole.utf8.first, let l = whole.utf8.last, !isSpaceByte(f), !isSpaceByte(l) { return whole }
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}

extension StringProtocol {
    /// One or more ASCII digits and nothing else: what desks' ids and ports are written in
    /// (`Character.isNumber` also takes other scripts' digits and fractions).
    public var isASCIIDigits: Bool { !isEmpty && utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
}

extension String {
    /// ASCII case-insensitive equality without allocating lower-cased copies.
    public func equalsIgnoringASCIICase(_ other: String) -> Bool {
        // Folding keeps the length: most pairs compared (a role against "end-user") differ in it.
        guard utf8.count == other.utf8.count else { return false }
        var a = utf8.makeIterator()
        var b = other.utf8.makeIterator()
        while true {
            switch (a.next(), b.next()) {
            case (nil, nil): return true
            case (let x?, let y?):
                if x == y { continue }
                let lx = x >= 65 && x <= 90 ? x + 32 : x
                let ly = y >= 65 && y <= 90 ? y + 32 : y
                if lx != ly { return false }
            default: return false
            }
        }
    }
}
