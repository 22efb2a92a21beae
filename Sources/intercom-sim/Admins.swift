import Foundation
import JSON

/// One simulated teammate. `numericID` keeps the file's choice of a JSON number or string for
/// the REST id, so the client sees both shapes (webhook items always send a number).
struct SimAdmin {
    var id: Int64
    var numericID = false
    var name: String
    var email: String
    var hasInboxSeat = true
    var away = false
    var jobTitle: String?

    /// Intercom's admin object (reference §1.7), with the fields a real workspace sends.
    func render(idAsNumber: Bool? = nil) -> String {
        let idText = (idAsNumber ?? numericID) ? String(id) : "\"\(id)\""
        return """
        {"type":"admin","email":\(JSONWriter.quote(email)),"id":\(idText),"name":\(JSONWriter.quote(name)),\
        "away_mode_enabled":\(away),"away_mode_reassign":false,"away_status_reason_id":null,\
        "has_inbox_seat":\(hasInboxSeat),"team_ids":[],"job_title":\(JSONWriter.quote(jobTitle)),\
        "avatar":{"type":"avatar","image_url":null},"team_priority_level":{}}
        """
    }
}

/// The simulated workspace: teammates by id, plus team items the 1.x listing mixed in.
final class Workspace: @unchecked Sendable {
    private let lock = NSLock()
    private var admins: [Int64: SimAdmin] = [:]
    private var teams: [(id: Int64, name: String)] = []
    var appID = "simapp01"
    var region = "US"

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    func generate(_ n: Int) {
        locked {
            for i in 0..<n {
                let id = Int64(5_000_000 + i)
                admins[id] = SimAdmin(id: id, numericID: i % 2 == 1, name: "Teammate \(i)", email: "teammate\(i)@sim.example",
                                      hasInboxSeat: i % 7 != 6)
            }
        }
    }

    /// Loads `{"app_id"?, "admins": [...], "teams"?: [...]}` (Intercom shapes).
    func load(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file),
              let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SimError("cannot read admins file \(file)")
        }
        try locked {
            if let a = root["app_id"] as? String { appID = a }
            for t in root["teams"] as? [[String: Any]] ?? [] {
                if let id = Self.id(t["id"]), let name = t["name"] as? String { teams.append((id, name)) }
            }
            for a in root["admins"] as? [[String: Any]] ?? [] {
                guard let id = Self.id(a["id"]), let name = a["name"] as? String, let email = a["email"] as? String else {
                    throw SimError("every admin needs an id, a name and an email")
                }
                admins[id] = SimAdmin(id: id, numericID: a["id"] is NSNumber, name: name, email: email,
                                      hasInboxSeat: a["has_inbox_seat"] as? Bool ?? true, away: a["away_mode_enabled"] as? Bool ?? false,
                                      jobTitle: a["job_title"] as? String)
            }
        }
    }

    static func id(_ v: Any?) -> Int64? {
        if let n = v as? NSNumber { return n.int64Value }
        if let s = v as? String { return Int64(s) }
        return nil
    }

    var count: Int { locked { admins.count } }

    func admin(_ id: Int64) -> SimAdmin? { locked { admins[id] } }

    func add(_ a: SimAdmin) -> SimAdmin {
        locked {
            var a = a
            if a.id == 0 { a.id = (admins.keys.max() ?? 5_000_000) + 1 }
            admins[a.id] = a
            return a
        }
    }

    func remove(_ id: Int64) -> SimAdmin? { locked { admins.removeValue(forKey: id) } }

    /// Applies `change`; returns (before, after).
    func update(_ id: Int64, _ change: (inout SimAdmin) -> Void) -> (SimAdmin, SimAdmin)? {
        locked {
            guard let before = admins[id] else { return nil }
            change(&admins[id]!)
            return (before, admins[id]!)
        }
    }

    /// `GET /admins`: every teammate in one answer, teams mixed in as 1.x did.
    func listing() -> String {
        locked {
            var items = admins.values.sorted { $0.id < $1.id }.map { $0.render() }
            for t in teams {
                items.append("{\"type\":\"team\",\"id\":\"\(t.id)\",\"name\":\(JSONWriter.quote(t.name)),\"admin_ids\":[]}")
            }
            return "{\"type\":\"admin.list\",\"admins\":[\(items.joined(separator: ","))]}"
        }
    }
}

struct SimError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
