import SyncRules

/// The desks this build supports: the one place a new desk is registered.
public enum DeskRegistry {
    public static let all: [any Desk] = [ZendeskDesk(), IntercomDesk()]

    public static func desk(_ kind: SourceKind) -> (any Desk)? { all.first { $0.kind == kind } }

    public static func desk(named name: String) -> (any Desk)? { all.first { $0.kind.rawValue == name } }
}
