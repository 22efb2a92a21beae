import Config
import HTTPServer

/// Who may call an admin route: a bearer token that has `permission` and, when it lists
/// tenants, `tenant` among them. 401 without a valid token, 403 without the permission or
/// the tenant. Shared by the admin API and the OAuth start route.
enum AdminAuth {
    static func check(_ service: Service, _ req: HTTPRequest, _ permission: AdminToken.Permission,
                      tenant: String) -> Result<AdminToken, Refusal> {
        guard let header = req.headers["Authorization"], header.hasPrefix("Bearer "),
              let token = service.token(String(header.dropFirst(7))) else {
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

    /// The answer for a refused call.
    struct Refusal: Error {
        var response: HTTPResponse
        init(_ response: HTTPResponse) { self.response = response }
    }
}
