import Foundation
import HTTPServer
import SimulatorSupport
import JSON

/// The simulator's control API (`/_sim/...`): change teammates as a workspace admin would,
/// which pushes the matching signed notification; subscribe a URL; hold, reorder and
/// duplicate deliveries; inject faults; read counters.
struct Control {
    let workspace: Workspace
    let faults: Faults
    let stats: SimulatorStats
    let notifier: Notifier
    let secret: String

    func install(into router: inout Router) {
        router.on("POST", "/_sim/admins", answer: add)
        router.on("POST", "/_sim/admins/{id}/{action}", answer: change)
        router.on("GET", "/_sim/admins/{id}") { req in
            guard let id = Int64(req.parameters["id"] ?? ""), let a = workspace.admin(id) else { return .json(404, "{}") }
            return .json(200, a.render())
        }
        router.on("POST", "/_sim/faults") { req in
            faults.set(object(req))
            return .json(200, "{}")
        }
        router.on("POST", "/_sim/webhooks") { req, res in
            let o = object(req)
            guard let url = o["url"] as? String else { return res.send(.json(400, #"{"error":"url"}"#)) }
            let key = o["secret"] as? String ?? secret
            // The HEAD check is an outbound call: off the event loop.
            DispatchQueue.global().async {
                let status = notifier.register(url: url, secret: key)
                let text = "{\"subscribed\":\(status == 200),\"head_status\":\(status.map(String.init) ?? "null")}"
                res.send(.json(status == 200 ? 200 : 502, text))
            }
        }
        router.on("POST", "/_sim/ping") { _ in
            notifier.ping()
            return .json(200, "{}")
        }
        router.on("POST", "/_sim/deliveries/hold") { _ in
            notifier.hold()
            return .json(200, "{}")
        }
        router.on("POST", "/_sim/deliveries/release") { req in
            let n = notifier.release(order: object(req)["order"] as? String ?? "fifo")
            return .json(200, "{\"released\":\(n)}")
        }
        router.on("POST", "/_sim/flush") { _, res in
            DispatchQueue.global().async {
                notifier.flush()
                res.send(.json(200, "{}"))
            }
        }
        router.on("GET", "/_sim/stats") { _ in .json(200, stats.json) }
    }

    private func object(_ req: HTTPRequest) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(req.body))) as? [String: Any] ?? [:]
    }

    private func answer(_ a: SimAdmin, notification: String?, status: Int = 200) -> HTTPResponse {
        stats.bump("mutations")
        return .json(status, "{\"admin\":\(a.render()),\"notification\":\(JSONWriter.quote(notification))}")
    }

    /// Adds a teammate (`admin.added_to_workspace`); an existing id is replaced, which is how
    /// a removed teammate is re-invited.
    private func add(_ req: HTTPRequest) -> HTTPResponse {
        let o = object(req)
        guard let name = o["name"] as? String, let email = o["email"] as? String else { return .json(400, #"{"error":"name and email"}"#) }
        let a = workspace.add(SimAdmin(id: Workspace.id(o["id"]) ?? 0, numericID: o["id"] is NSNumber, name: name, email: email,
                                       hasInboxSeat: o["has_inbox_seat"] as? Bool ?? true))
        let silent = o["silent"] as? Bool == true
        return answer(a, notification: silent ? nil : notifier.notify(topic: "admin.added_to_workspace", admin: a), status: 201)
    }

    private func change(_ req: HTTPRequest) -> HTTPResponse {
        guard let id = Int64(req.parameters["id"] ?? ""), workspace.admin(id) != nil else {
            return .json(404, #"{"error":"no such admin"}"#)
        }
        let o = object(req)
        let silent = o["silent"] as? Bool == true
        switch req.parameters["action"] ?? "" {
        case "remove":
            guard let a = workspace.remove(id) else { return .json(404, #"{"error":"no such admin"}"#) }
            return answer(a, notification: silent ? nil : notifier.notify(topic: "admin.removed_from_workspace", admin: a))
        case "away":
            guard let (_, a) = workspace.update(id, { $0.away = o["away"] as? Bool ?? !$0.away }) else { return .json(404, "{}") }
            return answer(a, notification: silent ? nil : notifier.notify(topic: "admin.away_mode_updated", admin: a))
        case "update":
            // Intercom has no admin.updated topic: renames, email and seat changes push nothing.
            guard let (_, a) = workspace.update(id, { a in
                if let n = o["name"] as? String { a.name = n }
                if let e = o["email"] as? String { a.email = e }
                if let s = o["has_inbox_seat"] as? Bool { a.hasInboxSeat = s }
            }) else { return .json(404, "{}") }
            return answer(a, notification: nil)
        default:
            return .json(404, #"{"error":"unknown action"}"#)
        }
    }
}
