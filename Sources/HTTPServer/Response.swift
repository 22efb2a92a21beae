/// A response to send: status, extra headers and body. `Content-Length`, `Date` and
/// `Connection` are added by the server when it writes the response in one piece.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", text: String, headers: [(String, String)] = []) {
        self.init(status: status, headers: [("Content-Type", contentType)] + headers, body: Array(text.utf8))
    }

    /// A JSON body (already serialised).
    public static func json(_ status: Int, _ json: String, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", text: json, headers: headers)
    }

    /// A short `{"error": …}` JSON answer.
    public static func error(_ status: Int, _ message: String, headers: [(String, String)] = []) -> HTTPResponse {
        var quoted = "\""
        for s in message.unicodeScalars {
            switch s {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            default: if s.value < 0x20 { quoted += " " } else { quoted.unicodeScalars.append(s) }
            }
        }
        return .json(status, "{\"error\":\(quoted)\"}", headers: headers)
    }

    public static let ok = HTTPResponse(status: 200, text: "ok\n")

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 302: "Found"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }

    /// Appends the whole response to `out`: status line, headers and body in one buffer,
    /// so it goes out in one write. `announceKeepAlive` says so to an HTTP/1.0 client that
    /// asked for it (for which closing is the default; RFC 9112 Appendix C.2.2).
    func serialize(into out: inout [UInt8], date: [UInt8], close: Bool, announceKeepAlive: Bool = false, headOnly: Bool) {
        out.reserveCapacity(out.count + 128 + body.count)
        out.append(contentsOf: Self.statusLine(status))
        out.append(contentsOf: Self.dateName)
        out.append(contentsOf: date)
        out.append(contentsOf: Self.lengthName)
        out.append(contentsOf: String(body.count).utf8)
        out.append(contentsOf: Self.crlf)
        if close { out.append(contentsOf: Self.closeLine) } else if announceKeepAlive { out.append(contentsOf: Self.keepAliveLine) }
        for (n, v) in headers {
            out.append(contentsOf: n.utf8)
            out.append(contentsOf: Self.colon)
            out.append(contentsOf: v.utf8)
            out.append(contentsOf: Self.crlf)
        }
        out.append(contentsOf: Self.crlf)
        if !headOnly { out.append(contentsOf: body) }
    }

    private static let crlf: [UInt8] = [13, 10]
    private static let colon: [UInt8] = [58, 32]
    private static let dateName = Array("Date: ".utf8)
    private static let lengthName = Array("\r\nContent-Length: ".utf8)
    private static let closeLine = Array("Connection: close\r\n".utf8)
    private static let keepAliveLine = Array("Connection: keep-alive\r\n".utf8)
    private static let common: [Int: [UInt8]] = Dictionary(uniqueKeysWithValues: [200, 202, 400, 401, 404, 405, 408, 413, 431, 503].map {
        ($0, Array("HTTP/1.1 \($0) \(reason($0))\r\n".utf8))
    })

    static func statusLine(_ status: Int) -> [UInt8] {
        common[status] ?? Array("HTTP/1.1 \(status) \(reason(status))\r\n".utf8)
    }
}
