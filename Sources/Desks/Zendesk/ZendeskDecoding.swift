import JSON
import SyncRules

/// Zendesk JSON → `SourceUser`, reading only the fields the rules use. Lenient where
/// Zendesk is: ids as numbers or strings, nullable `role_type`/`email`/`external_id`,
/// timestamps with 0–9 fractional digits (shared/reference/zendesk-api.md §1, §4).
enum ZendeskDecoding {
    /// A listing page's paging fields.
    struct UsersPage {
        var hasMore = false
        var afterCursor: String?
        var next: String?
    }

    struct IncrementalPage {
        var users: [SourceUser] = []
        var afterCursor: String?
        var endOfStream = false
    }

    static func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as JSONReader.SyntaxError {
            throw SourceError.malformed(e.description)
        }
    }

    /// Reads `bytes` with `body`, turning syntax errors into `SourceError.malformed`.
    static func reading<T>(_ bytes: [UInt8], _ body: (inout JSONReader) throws -> T) throws -> T {
        try wrap { try JSONReader.read(bytes, body) }
    }

    /// A listing page whose users are found by `JSONReader.scanArray()` and decoded only
    /// when asked; each user's digest covers its bytes and the custom role names.
    ///
    /// With `decodeAll` (a first import, where no user can be skipped) the users are
    /// decoded as the page is read instead: the scan would be work spent for nothing.
    static func listingPage(_ bytes: [UInt8], roleNames: [String: String], decodeAll: Bool) throws -> (UsersPage, ListingPage) {
        var elements: [ScannedElement] = []
        var decoded: [SourceUser] = []
        let fields = try reading(bytes) { r in
            var page = UsersPage()
            var sawUsers = false
            try r.readObject { r, key in
                if key == "users" {
                    sawUsers = true
                    if decodeAll {
                        try r.readArray { r in
                            let (u, range) = try r.readRanged { r in try user(&r, roleNames: roleNames) }
                            decoded.append(u)
                            elements.append(ScannedElement(range: range, id: u.id))
                        }
                    } else {
                        elements = try r.scanArray()
                    }
                } else {
                    try paging(&r, key, &page)
                }
            }
            try r.expectEnd()
            guard sawUsers else { throw SourceError.malformed("no 'users' in the listing") }
            return page
        }
        let ranges = elements.map(\.range)
        let users = decoded
        let read: @Sendable (Int) throws -> SourceUser = { i in
            try wrap { try JSONReader.read(bytes, in: ranges[i]) { r in try user(&r, roleNames: roleNames) } }
        }
        var roles = Fingerprint()
        for key in roleNames.keys.sorted() {
            roles.add(key)
            roles.add(roleNames[key])
        }
        var ids: [String] = []
        ids.reserveCapacity(elements.count)
        for (i, e) in elements.enumerated() { ids.append(try e.id ?? (i < users.count ? users[i] : read(i)).id) }
        let listed = ids
        let decode: @Sendable (Int) throws -> SourceUser = { i in
            if i < users.count { return users[i] }
            let u = try read(i)
            // The scan takes a plain `id`; the decode also reads an escaped key. A user must
            // be the one it was looked up (and marked seen) as.
            guard u.id == listed[i] else { throw SourceError.malformed("a user listed as \(listed[i]) decodes as \(u.id)") }
            return u
        }
        let digests = bytes.withUnsafeBufferPointer { buf in
            ranges.map { range in
                var f = roles
                f.add(bytes: UnsafeBufferPointer(rebasing: buf[range]))
                return f.value
            }
        }
        return (fields, ListingPage(ids: ids, digests: digests, decode: decode))
    }

    /// A listing page's fields other than its users.
    private static func paging(_ r: inout JSONReader, _ key: JSONKey, _ page: inout UsersPage) throws {
        if key == "meta" {
            try r.readObject { r, key in
                if key == "has_more" { page.hasMore = try r.readNull() ? false : try r.readBool() }
                else if key == "after_cursor" { page.afterCursor = try r.readScalarText() }
            }
        } else if key == "links" {
            try r.readObject { r, key in if key == "next" { page.next = try r.readOptionalString() } }
        } else if key == "next_page" {
            // Offset pagination (no page[size]): a URL or null.
            if let n = try r.readOptionalString() { page.next = n; page.hasMore = true }
        }
    }

    static func incrementalPage(_ bytes: [UInt8], roleNames: [String: String]) throws -> IncrementalPage {
        try reading(bytes) { r in
            var page = IncrementalPage()
            try r.readObject { r, key in
                if key == "users" {
                    try r.readArray { r in page.users.append(try user(&r, roleNames: roleNames)) }
                } else if key == "after_cursor" {
                    page.afterCursor = try r.readScalarText()
                } else if key == "end_of_stream" {
                    page.endOfStream = try r.readNull() ? true : try r.readBool()
                }
            }
            try r.expectEnd()
            return page
        }
    }

    static func singleUser(_ bytes: [UInt8], roleNames: [String: String]) throws -> SourceUser {
        try reading(bytes) { r in
            var found: SourceUser?
            try r.readObject { r, key in if key == "user" { found = try user(&r, roleNames: roleNames) } }
            try r.expectEnd()
            guard let found else { throw SourceError.malformed("no 'user' in the response") }
            return found
        }
    }

    static func customRoles(_ bytes: [UInt8]) throws -> [String: String] {
        try reading(bytes) { r in
            var out: [String: String] = [:]
            try r.readObject { r, key in
                guard key == "custom_roles" else { return }
                try r.readArray { r in
                    var id: String?
                    var name: String?
                    try r.readObject { r, key in
                        if key == "id" { id = try r.readScalarText() } else if key == "name" { name = try r.readOptionalString() }
                    }
                    if let id, let name { out[id] = name }
                }
            }
            return out
        }
    }

    /// One User object.
    static func user(_ r: inout JSONReader, roleNames: [String: String]) throws -> SourceUser {
        var id: String?
        var name = ""
        var email: String?
        var role = "end-user"
        var customRoleID: String?
        var active = true
        var suspended = false
        var externalID: String?
        var fields: [String: String] = [:]
        var updatedAt: Timestamp?
        try r.readObject { r, key in
            // Dispatch on length first: a User has ~40 keys and we read ten.
            switch key.count {
            case 2:
                if key == "id" { id = try r.readScalarText() }
            case 4:
                if key == "name" { name = try r.readOptionalString() ?? "" }
                else if key == "role" { role = try r.readOptionalString() ?? "end-user" }
            case 5:
                if key == "email" { email = try r.readOptionalString() }
            case 6:
                if key == "active" { active = try r.readNull() ? true : try r.readBool() }
            case 9:
                if key == "suspended" { suspended = try r.readNull() ? false : try r.readBool() }
            case 10:
                if key == "updated_at" { updatedAt = try r.readOptionalString().flatMap { Timestamp(iso8601: $0) } }
            case 11:
                if key == "external_id" { externalID = try r.readScalarText() }
                else if key == "user_fields" {
                    if try r.readNull() { return }
                    try r.readObject { r, key in
                        switch try r.peek() {
                        case .string, .number, .bool: fields[key.string] = try r.readScalarText()
                        default: try r.skipValue()
                        }
                    }
                }
            case 14:
                if key == "custom_role_id" { customRoleID = try r.readScalarText() }
            default:
                break
            }
        }
        guard let id, !id.isEmpty else { throw SourceError.malformed("a user without an id") }
        if let e = email, e.isEmpty { email = nil }
        if let x = externalID, x.isEmpty { externalID = nil }
        return SourceUser(id: id, name: name, email: email, role: role, customRoleID: customRoleID,
                          customRoleName: customRoleID.flatMap { roleNames[$0] }, active: active, suspended: suspended,
                          externalID: externalID, userFields: fields, updatedAt: updatedAt)
    }

    /// True for Zendesk's `{"error": "RecordNotFound", ...}` answer.
    static func isRecordNotFound(_ body: [UInt8]) -> Bool {
        guard let v = try? JSONValue.parse(body), case .string(let e)? = v["error"] else { return false }
        return e == "RecordNotFound"
    }
}
