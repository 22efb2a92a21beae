/// `v` with `places` decimals (no Foundation `String(format:)`).
func decimals(_ v: Double, _ places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let n = Int64((abs(v) * scale).rounded())
    let whole = n / Int64(scale)
    var frac = String(n % Int64(scale))
    while frac.count < places { frac = "0" + frac }
    return (v < 0 && n != 0 ? "-" : "") + String(whole) + (places > 0 ? "." + frac : "")
}
