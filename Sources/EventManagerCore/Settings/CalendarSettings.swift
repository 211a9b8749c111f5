/// What calendars and pages need to link back and to name their events.
public struct CalendarSettings: Sendable, Equatable {
    /// `app.public_url` without a trailing slash: event pages and feed links start with it.
    public var publicURL: String
    /// The right-hand side of every UID, the sender's domain: a feed and an email's attachment
    /// must give the same event the same UID, or the calendar shows it twice.
    public var uidDomain: String
    /// How often subscribed calendars are asked to refresh.
    public var refreshMinutes: Int = 30

    public init(publicURL: String = "http://127.0.0.1:8000", uidDomain: String = "localhost") {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.uidDomain = uidDomain
    }

    /// The domain of the sender's address: the right-hand side of calendar UIDs.
    public static func domain(ofSender sender: String) -> String {
        guard let domain = sender.split(separator: "@").last else { return "localhost" }
        return String(domain.filter { $0 != ">" })
    }

    /// The same URL under `webcal://`, which calendar apps open as a subscription.
    public static func webcal(_ url: String) -> String {
        if url.hasPrefix("https://") { return "webcal://" + url.dropFirst(8) }
        if url.hasPrefix("http://") { return "webcal://" + url.dropFirst(7) }
        return url
    }

    /// The public page of an event.
    public func pageURL(eventID: Int64) -> String { "\(publicURL)/e/\(eventID)" }
}
