/// The desks usersync can import from. Every link, inbox event and run names one.
public enum SourceKind: String, Sendable, Hashable, CaseIterable, Codable {
    case zendesk
    case intercom
}
