import Config
import HTTPServer

/// Who may call an admin route: a bearer token that has `permission` and, when it lists
/// tenants, `tenant` among them. 401 without a valid token, 403 without the permission or
/// the tenant. Shared by the admin API and the OAuth start route.
enum AdminAuth {
    static func check(_ service: Service, _ req: HTTPRequest, _ permission: AdminToken.Permission,
                      tenant: String) -> Result<AdminToken, Refusal> {
        check(service, req.head, permission, tenant: tenant)
    }

    /// The same from the head alone: routes ask it before reading a body, so a refused
    /// `Expect: 100-continue` request gets its 401 or 403 instead of 100.
    static func check(_ service: Service, _ head: HTTPRequestHead, _ permission: AdminToken.Permission,
                      tenant: String) -> Result<AdminToken, Refusal> {
        guard let header = head.headers["Authorization"], let presented = bearer(header), let token = service.token(presented) else {
            return .failure(Refusal(.error(401, "a valid bearer token is required", headers: [("WWW-Authenticate", "Bearer")])))
        }
        guard token.permissions.contains(permission) else {
            return .failure(Refusal(.error(403, "token '\(token.name)' lacks the \(permission.rawValue) permission")))
        }
        if let scope = token.tenants, !scope.contains(tenant) {
            return .failure(Refusal(.error(403, "token '\(token.name)' is not scoped to tenant \(tenant)")))
        }
        return .success(token)
    }

    /// The credentials of a `Bearer` authorization; the scheme is case-insensitive and
    /// may be followed by more than one space (RFC 9110 §11.1, §11.4).
    static func bearer(_ header: String) -> String? {
        guard let space = header.firstIndex(of: " "), header[..<space].lowercased() == "bearer" else { return nil }
        let credentials = header[space...].drop { $0 == " " }
        return credentials.isEmpty ? nil : String(credentials)
    }

    /// The answer for a refused call.
    struct Refusal: Error {
        var response: HTTPResponse
        init(_ response: HTTPResponse) { self.response = response }
    }
}
