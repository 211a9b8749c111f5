/// `auth.mode`: whether writes need an API key.
public enum AuthMode: String, Sendable {
    case required
    /// Anyone may do anything: for local experiments only (a warning is logged at start).
    case disabled
}
