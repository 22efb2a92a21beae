import SyncRules

/// What one stored event means for the directory.
public enum EventMeaning: Sendable, Equatable {
    /// Apply this observation.
    case observe(Observation)
    /// Fetch the user (Show User) and apply what comes back.
    case fetch(userID: String)
    /// Nothing to do; settled with this note.
    case noEffect(String)
}
