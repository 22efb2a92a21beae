/// Values a client controls never become metric labels as they are: a method outside the
/// common ones is `other` (routes are labelled by pattern, or `unmatched`), so the number
/// of series stays fixed whatever arrives.
enum MetricLabel {
    static func method(_ method: String) -> String {
        switch method {
        case "GET": "GET"
        case "HEAD": "HEAD"
        case "POST": "POST"
        case "PUT": "PUT"
        case "DELETE": "DELETE"
        case "PATCH": "PATCH"
        case "OPTIONS": "OPTIONS"
        default: "other"
        }
    }
}
