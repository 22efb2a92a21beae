import Config
import Desks
import Directory
import SyncRules

/// `users list|add|activate|deactivate`.
enum UserCommands {
    static func run(_ words: [String], _ ctx: inout Context) throws {
        guard let verb = words.first else { throw UsageError("usage: usersync users list|add|activate|deactivate (see --help)") }
        let tenant = try ctx.tenant()
        let json = ctx.args.flag("--json")
        switch verb {
        case "list":
            var status: LocalUser.Status?
            if let raw = ctx.args.value("--status") {
                guard let s = LocalUser.Status(rawValue: raw) else { throw UsageError("--status must be pending, active or deactivated") }
                status = s
            }
            try ctx.args.rejectUnknown(words: 2)
            let users = try ctx.directory(tenant).users(status: status)
            if json {
                ctx.console.print(JSONText.array(users.map { Render.user($0, tenant: tenant.id) }).render(indent: 2))
            } else {
                var table = Table(header: ["ID", "NAME", "EMAIL", "USERNAME", "STATUS", "ORIGIN", "LINKS", "REASON"])
                for r in users {
                    let u = r.user
                    let links = r.links.map { "\($0.source.rawValue):\($0.sourceUserID)" }.joined(separator: ",")
                    table.rows.append([String(u.id), u.name, u.email ?? "-", u.username ?? "-", u.status.rawValue, u.origin.rawValue,
                                       links.isEmpty ? "-" : links, u.reason ?? ""])
                }
                ctx.console.print(table.render())
                ctx.console.print("\(users.count) user(s)")
            }
        case "add":
            guard let name = ctx.args.value("--name") else { throw UsageError("users add needs --name") }
            guard name.contains(where: { !$0.isWhitespace }) else { throw UsageError("--name must not be empty") }
            guard let email = ctx.args.value("--email") else { throw UsageError("users add needs --email") }
            guard email.contains("@"), !email.contains(" ") else { throw UsageError("--email '\(email)' is not an email address") }
            let username = ctx.args.value("--username")
            let externalID = ctx.args.value("--external-id")
            try ctx.args.rejectUnknown(words: 2)
            let rec = try ctx.directory(tenant).addUser(name: name, email: email, username: username, externalID: externalID,
                                                        cause: .admin(ctx.cliActor))
            if json { ctx.console.print(Render.user(rec, tenant: tenant.id).render(indent: 2)) } else {
                ctx.console.print("added user \(rec.user.id) (\(rec.user.name), pending)")
            }
        case "activate", "deactivate":
            let reason = verb == "deactivate" ? ctx.args.value("--reason") : nil
            try ctx.args.rejectUnknown()
            let ids = try words.dropFirst().map { w -> Int64 in
                guard let id = Int64(w), id > 0 else { throw UsageError("'\(w)' is not a user id") }
                return id
            }
            guard !ids.isEmpty else { throw UsageError("users \(verb) needs at least one user id") }
            let dir = try ctx.directory(tenant)
            var failures: [String] = []
            var done: [UserRecord] = []
            for id in ids {
                do {
                    let rec = verb == "activate"
                        ? try dir.activate(id: id, licenceLimit: tenant.licenceLimit, cause: .admin(ctx.cliActor))
                        : try dir.deactivate(id: id, reason: reason, cause: .admin(ctx.cliActor))
                    done.append(rec)
                    if !json { ctx.console.print("user \(id): \(rec.user.status.rawValue)") }
                } catch let e as DirectoryError where e.isUserError {
                    failures.append(e.description)
                }
            }
            if json { ctx.console.print(JSONText.array(done.map { Render.user($0, tenant: tenant.id) }).render(indent: 2)) }
            if !failures.isEmpty { throw OperationalError(failures.joined(separator: "\n")) }
        default:
            throw UsageError("unknown users command '\(verb)' (list, add, activate, deactivate)")
        }
    }
}

/// `agents resolve`.
enum AgentCommands {
    static func run(_ words: [String], _ ctx: inout Context) throws {
        guard words.first == "resolve" else { throw UsageError("usage: usersync agents resolve (--source-id N | --email E)") }
        let tenant = try ctx.tenant()
        let source = try ctx.source() ?? tenant.sources.first?.kind ?? DeskRegistry.all[0].kind
        let sid = ctx.args.value("--source-id")
        let email = ctx.args.value("--email")
        let json = ctx.args.flag("--json")
        try ctx.args.rejectUnknown(words: 2)
        guard sid != nil || email != nil else { throw UsageError("agents resolve needs --source-id or --email") }
        let identifier = tenant.source(source)?.settings.identifier ?? .defaultMatching
        switch try ctx.directory(tenant).resolveAgent(source: source, sourceUserID: sid, email: email, identifier: identifier) {
        case .found(let user, let via):
            let rec = try ctx.directory(tenant).user(id: user.id)!
            if json {
                guard case .object(var pairs) = Render.user(rec, tenant: tenant.id) else { return }
                pairs.append(("matched_by", .string(via)))
                ctx.console.print(JSONText.object(pairs).render(indent: 2))
            } else {
                ctx.console.print("user \(user.id): \(user.name) <\(user.email ?? "-")> \(user.status.rawValue) (matched by \(via))")
            }
        case .ambiguous(let users):
            throw OperationalError("ambiguous: local users \(users.map { String($0.id) }.joined(separator: ", ")) all match")
        case .notFound:
            let given = [sid.map { "source id \($0)" }, email.map { "email \($0)" }].compactMap { $0 }
            throw OperationalError("no local user matches \(given.joined(separator: " / "))")
        }
    }
}
