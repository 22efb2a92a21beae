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
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
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

    /// The whole response as bytes: status line, headers and body in one buffer (one write).
    func serialized(date: String, close: Bool, headOnly: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nDate: \(date)\r\nContent-Length: \(body.count)\r\n"
        if close { head += "Connection: close\r\n" }
        for (n, v) in headers { head += n + ": " + v + "\r\n" }
        head += "\r\n"
        var out = Array(head.utf8)
        if !headOnly { out.append(contentsOf: body) }
        return out
    }
}
