import Foundation
import HTTPServer
import SimulatorSupport
import JSON

/// The simulator's control API (`/_sim/...`): change users as an admin would in Zendesk,
/// which also pushes the matching signed webhooks; inject faults; read counters.
struct Control {
    let population: Population
    let faults: Faults
    let stats: SimulatorStats
    let pusher: WebhookPusher

    func install(into router: inout Router) {
        router.on("POST", "/_sim/users/{id}/{action}", answer: mutate)
        router.on("POST", "/_sim/users", answer: create)
        router.on("POST", "/_sim/custom_roles/{id}/rename") { req in
            guard let id = Int64(req.parameters["id"] ?? ""), let name = self.object(req)["name"] as? String else {
                return .json(400, #"{"error":"id and name"}"#)
            }
            return population.renameRole(id, to: name) ? .json(200, "{}") : .json(404, #"{"error":"no such role"}"#)
        }
        router.on("POST", "/_sim/faults") { req in
            faults.set(object(req))
            return .json(200, "{}")
        }
        router.on("POST", "/_sim/webhooks") { req in
            let o = object(req)
            guard let url = o["url"] as? String, let secret = o["secret"] as? String else {
                return .json(400, #"{"error":"url and secret"}"#)
            }
            pusher.register(.init(id: o["id"] as? String ?? "01SIMULATOR", url: url, secret: secret))
            return .json(200, "{}")
        }
        router.on("POST", "/_sim/burst") { req in
            let n = object(req)["count"] as? Int ?? 10
            for (i, id) in population.randomIDs(n).enumerated() {
                if let (before, after) = population.mutate(id, { $0.name = "Burst \(i) \($0.id)" }) {
                    pusher.push(type: "user.name_changed", user: after, event: change(before.name, after.name))
                }
            }
            return .json(200, "{\"sent\":\(n)}")
        }
        router.on("POST", "/_sim/flush") { _, res in
            DispatchQueue.global().async {
                pusher.flush()
                res.send(.json(200, "{}"))
            }
        }
        router.on("GET", "/_sim/stats") { _ in .json(200, stats.json) }
        router.on("GET", "/_sim/users/{id}") { req in
            guard let id = Int64(req.parameters["id"] ?? ""), let u = population.user(id) else { return .json(404, "{}") }
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: u.render(base: population.base))
        }
    }

    private func object(_ req: HTTPRequest) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(req.body))) as? [String: Any] ?? [:]
    }

    private func change(_ old: String?, _ new: String?) -> String {
        "{\"current\":\(JSONWriter.quote(new)),\"previous\":\(JSONWriter.quote(old))}"
    }

    private func change(_ old: Bool, _ new: Bool) -> String { "{\"current\":\(new),\"previous\":\(old)}" }

    private func mutate(_ req: HTTPRequest) -> HTTPResponse {
        guard let id = Int64(req.parameters["id"] ?? ""), population.user(id) != nil else {
            return .json(404, #"{"error":"no such user"}"#)
        }
        let o = object(req)
        let action = req.parameters["action"] ?? ""
        var events: [(String, String)] = []
        let result: (SimUser, SimUser)?
        switch action {
        case "rename":
            guard let name = o["name"] as? String else { return .json(400, #"{"error":"name"}"#) }
            result = population.mutate(id) { $0.name = name }
            if let (b, a) = result { events = [("user.name_changed", change(b.name, a.name))] }
        case "email":
            guard let email = o["email"] as? String else { return .json(400, #"{"error":"email"}"#) }
            result = population.mutate(id) { $0.email = email }
            if let (b, a) = result {
                let identity = { (v: String?) in
                    "{\"id\":\"\(id)1\",\"primary\":true,\"type\":\"email\",\"value\":\(JSONWriter.quote(v))}"
                }
                events = [("user.identity_changed", "{\"current\":\(identity(a.email)),\"previous\":\(identity(b.email))}")]
            }
        case "suspend", "unsuspend":
            result = population.mutate(id) { $0.suspended = action == "suspend" }
            if let (b, a) = result { events = [("user.suspended_changed", change(b.suspended, a.suspended))] }
        case "delete":
            result = population.mutate(id) { $0.active = false; $0.email = nil }
            if result != nil { events = [("user.deleted", "{}"), ("user.active_changed", change(true, false))] }
        case "restore":
            result = population.mutate(id) { $0.active = true }
            if result != nil { events = [("user.active_changed", change(false, true))] }
        case "downgrade", "role":
            let role = action == "downgrade" ? "end-user" : (o["role"] as? String ?? "agent")
            let customRole = o["custom_role_id"] as? Int
            result = population.mutate(id) {
                $0.role = role
                $0.customRoleID = role == "agent" ? customRole.map(Int64.init) : nil
            }
            if let (b, a) = result {
                if b.role != a.role { events.append(("user.role_changed", change(b.role, a.role))) }
                if b.customRoleID != a.customRoleID {
                    events.append(("user.custom_role_changed", change(b.customRoleID.map(String.init), a.customRoleID.map(String.init))))
                }
            }
        case "external_id":
            let value = o["external_id"] as? String
            result = population.mutate(id) { $0.externalID = value }
            if let (b, a) = result { events = [("user.external_id_changed", change(b.externalID, a.externalID))] }
        case "field":
            guard let key = o["key"] as? String else { return .json(400, #"{"error":"key"}"#) }
            let value = o["value"] as? String
            result = population.mutate(id) { $0.userFields[key] = value }
            if let (b, a) = result {
                let field = "{\"key\":\(JSONWriter.quote(key))}"
                let current = JSONWriter.quote(a.userFields[key]), previous = JSONWriter.quote(b.userFields[key])
                events = [("user.custom_field_changed", "{\"field\":\(field),\"current\":\(current),\"previous\":\(previous)}")]
            }
        case "touch":
            result = population.mutate(id) { _ in }
        default:
            return .json(404, #"{"error":"unknown action"}"#)
        }
        guard let (_, after) = result else { return .json(404, #"{"error":"no such user"}"#) }
        if o["silent"] as? Bool != true {
            for (type, event) in events { pusher.push(type: type, user: after, event: event) }
        }
        stats.bump("mutations")
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: after.render(base: population.base))
    }

    private func create(_ req: HTTPRequest) -> HTTPResponse {
        let o = object(req)
        guard let name = o["name"] as? String else { return .json(400, #"{"error":"name"}"#) }
        let u = population.create(SimUser(id: (o["id"] as? Int).map(Int64.init) ?? 0, name: name, email: o["email"] as? String,
                                          role: o["role"] as? String ?? "agent",
                                          customRoleID: (o["custom_role_id"] as? Int).map(Int64.init),
                                          externalID: o["external_id"] as? String, createdAt: 0, updatedAt: 0))
        if o["silent"] as? Bool != true { pusher.push(type: "user.created", user: u, event: "{}") }
        stats.bump("mutations")
        return HTTPResponse(status: 201, headers: [("Content-Type", "application/json")], body: u.render(base: population.base))
    }
}
