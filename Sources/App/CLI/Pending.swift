/// Commands whose machinery lands with the Zendesk and receiver issues.
enum ReconcileCommand {
    static func run(_ words: [String], _ ctx: inout Context) async throws {
        throw OperationalError("reconcile is not available in this build yet")
    }
}

enum ServeCommand {
    static func run(_ words: [String], _ ctx: inout Context) async throws {
        throw OperationalError("serve is not available in this build yet")
    }
}

enum ZendeskCommands {
    static func run(_ words: [String], _ ctx: inout Context) async throws {
        throw OperationalError("zendesk commands are not available in this build yet")
    }
}
