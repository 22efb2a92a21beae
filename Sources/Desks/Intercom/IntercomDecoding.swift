import JSON
import SyncRules

/// Intercom JSON → `SourceUser`, reading only what the rules use. Lenient where Intercom
/// is: admin ids as strings (REST) or numbers (captured webhooks), `avatar` as a string or
/// an object (skipped either way), unknown fields ignored
/// (shared/reference/intercom-and-webhook-practice.md §1.4–1.8, §2.3).
enum IntercomDecoding {
    /// What `GET /me` says about the token's workspace.
    static func workspace(_ bytes: [UInt8]) throws -> IntercomWorkspace {
        try ZendeskDecoding.reading(bytes) { r in
            var appID: String?
            var region: String?
            var name: String?
            var adminID: String?
            var email: String?
            try r.readObject { r, key in
                if key == "id" { adminID = try r.readScalarText() }
                else if key == "email" { email = try r.readOptionalString() }
                else if key == "app" {
                    guard try r.peek() == .object else { return try r.skipValue() }
                    try r.readObject { r, key in
                        if key == "id_code" { appID = try r.readScalarText() }
                        else if key == "region" { region = try r.readOptionalString() }
                        else if key == "name" { name = try r.readOptionalString() }
                    }
                }
            }
            try r.expectEnd()
            guard let appID, !appID.isEmpty else { throw SourceError.malformed("/me without app.id_code") }
            return IntercomWorkspace(appID: appID, region: region, name: name, adminID: adminID, adminEmail: email)
        }
    }

    /// `{"type": "admin.list", "admins": [...]}`: only items of type `admin` (1.x mixed
    /// teams into the list, §1.4).
    static func adminList(_ bytes: [UInt8]) throws -> [SourceUser] {
        try ZendeskDecoding.reading(bytes) { r in
            var users: [SourceUser] = []
            var sawAdmins = false
            try r.readObject { r, key in
                guard key == "admins" else { return }
                sawAdmins = true
                try r.readArray { r in
                    guard try r.peek() == .object else { return try r.skipValue() }
                    if let u = try admin(&r) { users.append(u) }
                }
            }
            try r.expectEnd()
            guard sawAdmins else { throw SourceError.malformed("no 'admins' in the listing") }
            return users
        }
    }

    /// `GET /admins/{id}`: one admin object.
    static func singleAdmin(_ bytes: [UInt8]) throws -> SourceUser {
        try ZendeskDecoding.reading(bytes) { r in
            guard try r.peek() == .object, let u = try admin(&r) else { throw SourceError.malformed("not an admin object") }
            try r.expectEnd()
            return u
        }
    }

    /// Whether a 404 body is Intercom's error list with a `*not_found` code (e.g.
    /// `admin_not_found`, §1.5) rather than, say, a proxy's page for a wrong base URL.
    static func isNotFound(_ bytes: [UInt8]) -> Bool {
        (try? JSONReader.read(bytes) { r -> Bool in
            var type: String?
            var notFound = false
            try r.readObject { r, key in
                if key == "type" { type = try r.readOptionalString() }
                else if key == "errors" {
                    guard try r.peek() == .array else { return try r.skipValue() }
                    try r.readArray { r in
                        guard try r.peek() == .object else { return try r.skipValue() }
                        try r.readObject { r, key in
                            if key == "code", let c = try r.readOptionalString(), c == "not_found" || c.hasSuffix("_not_found") {
                                notFound = true
                            }
                        }
                    }
                }
            }
            return type == "error.list" && notFound
        }) ?? false
    }

    /// One admin object, or nil when the item is not of type `admin`. Teammates have no
    /// status field: present means active (§3).
    static func admin(_ r: inout JSONReader) throws -> SourceUser? {
        var type: String?
        var id: String?
        var name = ""
        var email: String?
        var seat: Bool?
        try r.readObject { r, key in
            switch key.count {
            case 2: if key == "id" { id = try r.readScalarText() }
            case 4:
                if key == "type" { type = try r.readOptionalString() }
                else if key == "name" { name = try r.readOptionalString() ?? "" }
            case 5: if key == "email" { email = try r.readOptionalString() }
            case 14: if key == "has_inbox_seat" { seat = try r.readNull() ? nil : try r.readBool() }
            default: break
            }
        }
        guard type == "admin" else { return nil }
        guard let id, !id.isEmpty else { throw SourceError.malformed("an admin without an id") }
        if let e = email, e.isEmpty { email = nil }
        var user = SourceUser(id: id, name: name, email: email, role: "admin")
        user.hasInboxSeat = seat
        return user
    }
}
