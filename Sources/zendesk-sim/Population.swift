import Foundation
import JSON
import SyncRules

/// One simulated Zendesk user.
struct SimUser {
    var id: Int64
    var name: String
    var email: String?
    var role: String
    var customRoleID: Int64?
    var active = true
    var suspended = false
    var externalID: String?
    var userFields: [String: String] = [:]
    var createdAt: Int64
    var updatedAt: Int64
    /// The user's JSON, rendered once and reused until the user changes.
    var cached: [UInt8]?

    /// Zendesk's User object (https://developer.zendesk.com/api-reference/ticketing/users/users/),
    /// with the fields a real account sends so page sizes are realistic.
    func render(base: String) -> [UInt8] {
        if let cached { return cached }
        let roleType: String
        switch (role, customRoleID) {
        case ("admin", _): roleType = "4"
        case ("agent", .some): roleType = "0"
        default: roleType = "null"
        }
        let fields = userFields.sorted { $0.key < $1.key }
            .map { "\(JSONWriter.quote($0.key)):\(JSONWriter.quote($0.value))" }.joined(separator: ",")
        let s = """
        {"id":\(id),"url":"\(base)/api/v2/users/\(id).json","name":\(JSONWriter.quote(name)),"email":\(JSONWriter.quote(email)),\
        "created_at":"\(Timestamp(seconds: createdAt).iso8601)","updated_at":"\(Timestamp(seconds: updatedAt).iso8601)",\
        "time_zone":"Copenhagen","iana_time_zone":"Europe/Copenhagen","phone":null,"shared_phone_number":null,"photo":null,\
        "locale_id":1,"locale":"en-US","organization_id":null,"role":"\(role)","verified":true,\
        "external_id":\(JSONWriter.quote(externalID)),"tags":[],"alias":"","active":\(active),"shared":false,"shared_agent":false,\
        "last_login_at":null,"two_factor_auth_enabled":null,"signature":"","details":"","notes":"","role_type":\(roleType),\
        "custom_role_id":\(customRoleID.map(String.init) ?? "null"),"moderator":false,"ticket_restriction":null,\
        "only_private_comments":false,"restricted_agent":false,"suspended":\(suspended),"default_group_id":360000000001,\
        "report_csv":false,"user_fields":{\(fields)}}
        """
        return Array(s.utf8)
    }
}

struct SimRole {
    var id: Int64
    var name: String
}

/// The simulated account: users sorted by id, custom roles, and a clock that makes every
/// change's `updated_at` strictly later than the last.
final class Population: @unchecked Sendable {
    private let lock = NSLock()
    private var users: [SimUser] = []
    private var index: [Int64: Int] = [:]
    private(set) var roles: [SimRole] = [SimRole(id: 360_001, name: "Team Lead"), SimRole(id: 360_002, name: "Advisor")]
    private var lastStamp: Int64 = 0
    var base = "http://127.0.0.1"

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// A strictly increasing `updated_at` (seconds).
    func stamp() -> Int64 {
        lastStamp = max(lastStamp + 1, Int64(Date().timeIntervalSince1970))
        return lastStamp
    }

    func generate(_ n: Int) {
        locked {
            let t0: Int64 = 1_700_000_000
            users.reserveCapacity(n)
            for i in 0..<n {
                let id = Int64(1_000_000 + i)
                let role = i % 10 == 9 ? "admin" : "agent"
                users.append(SimUser(id: id, name: "Agent \(i)", email: "agent\(i)@sim.example", role: role,
                                     customRoleID: role == "agent" && i % 20 == 3 ? 360_001 : nil,
                                     createdAt: t0, updatedAt: t0 + Int64(i % 1000)))
            }
            lastStamp = t0 + 1000
            reindex()
        }
    }

    /// Loads `{"users": [...], "custom_roles": [...]}` (Zendesk shapes).
    func load(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file),
              let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SimError("cannot read users file \(file)")
        }
        try locked {
            if let rs = root["custom_roles"] as? [[String: Any]] {
                roles = rs.compactMap { r in
                    guard let id = (r["id"] as? NSNumber)?.int64Value, let name = r["name"] as? String else { return nil }
                    return SimRole(id: id, name: name)
                }
            }
            for u in root["users"] as? [[String: Any]] ?? [] {
                guard let id = (u["id"] as? NSNumber)?.int64Value, let name = u["name"] as? String else {
                    throw SimError("every user needs an id and a name")
                }
                let updated = (u["updated_at"] as? String).flatMap { Timestamp(iso8601: $0)?.seconds } ?? 1_700_000_000
                let fields = (u["user_fields"] as? [String: Any] ?? [:]).compactMapValues { $0 is NSNull ? nil : "\($0)" }
                users.append(SimUser(id: id, name: name, email: u["email"] as? String, role: u["role"] as? String ?? "end-user",
                                     customRoleID: (u["custom_role_id"] as? NSNumber)?.int64Value,
                                     active: u["active"] as? Bool ?? true, suspended: u["suspended"] as? Bool ?? false,
                                     externalID: u["external_id"] as? String, userFields: fields,
                                     createdAt: updated, updatedAt: updated))
                lastStamp = max(lastStamp, updated)
            }
            users.sort { $0.id < $1.id }
            reindex()
        }
    }

    private func reindex() {
        index = [:]
        for (i, u) in users.enumerated() { index[u.id] = i }
    }

    var count: Int { locked { users.count } }

    func user(_ id: Int64) -> SimUser? { locked { index[id].map { users[$0] } } }

    /// Applies `change` to a user, bumping `updated_at`; returns (before, after).
    /// Renames a custom role as an admin would; its users keep their `custom_role_id`.
    func renameRole(_ id: Int64, to name: String) -> Bool {
        locked {
            guard let i = roles.firstIndex(where: { $0.id == id }) else { return false }
            roles[i].name = name
            return true
        }
    }

    func mutate(_ id: Int64, _ change: (inout SimUser) -> Void) -> (SimUser, SimUser)? {
        locked {
            guard let i = index[id] else { return nil }
            let before = users[i]
            change(&users[i])
            users[i].updatedAt = stamp()
            users[i].cached = nil
            return (before, users[i])
        }
    }

    func create(_ u: SimUser) -> SimUser {
        locked {
            var u = u
            if u.id == 0 { u.id = (users.last?.id ?? 1_000_000) + 1 }
            u.createdAt = stamp()
            u.updatedAt = u.createdAt
            let pos = users.firstIndex { $0.id > u.id } ?? users.count
            users.insert(u, at: pos)
            reindex()
            return u
        }
    }

    /// One page of users with id > `after` whose role passes `filter`, rendered.
    func page(after: Int64, size: Int, filter: (SimUser) -> Bool) -> (json: [UInt8], count: Int, last: Int64?, more: Bool) {
        locked {
            var start = 0
            var lo = 0, hi = users.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if users[mid].id <= after { lo = mid + 1 } else { hi = mid }
            }
            start = lo
            var out: [UInt8] = [UInt8(ascii: "[")]
            var n = 0
            var last: Int64?
            var i = start
            while i < users.count, n < size {
                if filter(users[i]) {
                    if users[i].cached == nil { users[i].cached = users[i].render(base: base) }
                    if n > 0 { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: users[i].cached!)
                    n += 1
                    last = users[i].id
                }
                i += 1
            }
            var more = false
            while i < users.count {
                if filter(users[i]) { more = true; break }
                i += 1
            }
            out.append(UInt8(ascii: "]"))
            return (out, n, last, more)
        }
    }

    /// Users changed at or after `since` (seconds) ordered by (updated_at, id), after the cursor key.
    func changed(after key: (Int64, Int64), limit: Int) -> (json: [UInt8], last: (Int64, Int64)?, end: Bool) {
        locked {
            let sorted = users.filter { ($0.updatedAt, $0.id) > key }.sorted { ($0.updatedAt, $0.id) < ($1.updatedAt, $1.id) }
            let slice = sorted.prefix(limit)
            var out: [UInt8] = [UInt8(ascii: "[")]
            for (n, u) in slice.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: u.render(base: base))
            }
            out.append(UInt8(ascii: "]"))
            return (out, slice.last.map { ($0.updatedAt, $0.id) }, sorted.count <= limit)
        }
    }

    func roleName(_ id: Int64?) -> String? { id.flatMap { rid in roles.first { $0.id == rid }?.name } }

    func randomIDs(_ n: Int) -> [Int64] {
        locked { (0..<n).compactMap { _ in users.randomElement()?.id } }
    }
}

struct SimError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
