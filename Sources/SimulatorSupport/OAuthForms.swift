import Foundation
import HTTPServer

/// The halves of an OAuth authorization-code flow every simulated desk answers the same way:
/// "the admin clicked Allow" redirects, and token requests sent as JSON or as a form.
public enum OAuthForms {
    /// 302 back to `redirect` with `code` and the `state` the client sent.
    public static func redirect(to redirect: String, code: String, state: String?) -> HTTPResponse {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let stateParameter = state.map { "&state=" + ($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0) } ?? ""
        return HTTPResponse(status: 302, headers: [("Location", "\(redirect)\(redirect.contains("?") ? "&" : "?")code=\(code)\(stateParameter)")])
    }

    /// The fields of a token request body: a JSON object of strings, or `a=b&c=d`.
    public static func fields(_ body: [UInt8]) -> [String: String] {
        if let o = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            return o.compactMapValues { $0 as? String }
        }
        var form: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            if kv.count == 2 { form[kv[0]] = kv[1] }
        }
        return form
    }
}
