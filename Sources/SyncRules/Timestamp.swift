/// A point in time with nanosecond precision, parsed from the ISO-8601 text that
/// Zendesk and Intercom send.
///
/// It exists because source timestamps carry 0 to 9 fractional digits
/// (`2025-01-08T10:12:07.672717030Z`, see shared/reference/zendesk-api.md §1.1) and the
/// stale-event rule compares them exactly; `Date` would round them.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public init(seconds: Int64) { self.nanoseconds = seconds * 1_000_000_000 }

    public var seconds: Int64 { nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM|±HHMM)`. Returns nil for anything else.
    public init?(iso8601 text: some StringProtocol) {
        var copy = String(text)
        guard let ns = copy.withUTF8({ Self.parse($0) }) else { return nil }
        self.nanoseconds = ns
    }

    /// The parse over the text's bytes, without copying them (every listed user has an
    /// `updated_at`: a copy into an array and variadic arrays per character cost 1,600
    /// instructions a user).
    private static func parse(_ t: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard t.count - i >= n else { return nil }
            var v: Int64 = 0
            for _ in 0..<n {
                let c = t[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
                i += 1
            }
            return v
        }
        func expect(_ a: UInt8, _ b: UInt8? = nil, _ c: UInt8? = nil) -> Bool {
            guard i < t.count, t[i] == a || t[i] == b || t[i] == c else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect(45), let mo = digits(2), expect(45), let d = digits(2),
              expect(84, 116, 32), let h = digits(2), expect(58), let mi = digits(2), expect(58),
              let s = digits(2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        var frac: Int64 = 0
        if expect(46, 44) {
            var n = 0
            while i < t.count, t[i] >= 48, t[i] <= 57 {
                if n < 9 { frac = frac * 10 + Int64(t[i] - 48) }
                n += 1
                i += 1
            }
            guard n >= 1 else { return nil }
            for _ in n..<max(n, 9) { frac *= 10 }
        }
        var offset: Int64 = 0
        if expect(90, 122) {
        } else if i < t.count, t[i] == 43 || t[i] == 45 {
            let negative = t[i] == 45
            i += 1
            guard let oh = digits(2) else { return nil }
            _ = expect(58)
            guard let om = digits(2) else { return nil }
            offset = (oh * 60 + om) * 60 * (negative ? -1 : 1)
        } else {
            return nil
        }
        guard i == t.count else { return nil }
        let days = Timestamp.daysFromCivil(year: y, month: mo, day: d)
        let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset
        // Nanoseconds in an Int64 reach the year 2262; later dates are refused, not trapped on.
        let (scaled, overflow) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, scaled <= Int64.max - frac else { return nil }
        return scaled + frac
    }

    /// Canonical UTC text with as many fractional digits as needed (none for whole seconds).
    public var iso8601: String { text(milliseconds: false) }

    /// UTC text with exactly three fractional digits (the fraction below a millisecond
    /// dropped): what the store writes for its own times, so they read alike and sort as
    /// text within a second too.
    public var iso8601Milliseconds: String { text(milliseconds: true) }

    /// Written digit by digit into one buffer: interpolating padded pieces cost about 20,000
    /// instructions a call (callgrind of `serve`: the inbox writes two a commit).
    private func text(milliseconds: Bool) -> String {
        let secs = seconds
        var frac = nanoseconds - secs * 1_000_000_000
        var days = secs / 86_400
        var rem = secs - days * 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let (y, m, d) = Timestamp.civilFromDays(days)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        func digits(_ v: Int64, _ width: Int) {
            var v = v
            if v < 0 {
                out.append(UInt8(ascii: "-"))
                v = -v
            }
            var count = 1
            var scale: Int64 = 1
            while v / scale >= 10 { scale *= 10; count += 1 }
            for _ in count..<max(count, width) { out.append(UInt8(ascii: "0")) }
            while scale > 0 {
                out.append(UInt8(ascii: "0") + UInt8(v / scale % 10))
                scale /= 10
            }
        }
        digits(y, 4); out.append(UInt8(ascii: "-")); digits(m, 2); out.append(UInt8(ascii: "-")); digits(d, 2)
        out.append(UInt8(ascii: "T")); digits(rem / 3600, 2); out.append(UInt8(ascii: ":"))
        digits(rem / 60 % 60, 2); out.append(UInt8(ascii: ":")); digits(rem % 60, 2)
        if milliseconds {
            out.append(UInt8(ascii: "."))
            digits(frac / 1_000_000, 3)
        } else if frac != 0 {
            var width = 9
            while frac % 10 == 0 { frac /= 10; width -= 1 }
            out.append(UInt8(ascii: "."))
            digits(frac, width)
        }
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { iso8601 }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
