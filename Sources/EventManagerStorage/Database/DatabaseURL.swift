import EventManagerCore
import Foundation

/// Where the data lives, parsed from `db.url` (or `DATABASE_URL`).
public enum DatabaseURL: Sendable, Equatable {
    /// A SQLite file; relative paths resolve against the working directory.
    case sqliteFile(path: String)
    /// A SQLite database that lives only as long as the process (tests).
    case sqliteMemory
    /// A PostgreSQL server, `postgres://user:password@host:port/database[?sslmode=...]`.
    case postgres(url: String)

    /// Accepts `sqlite:PATH`, `sqlite://PATH`, `sqlite:///ABSOLUTE`, `sqlite::memory:` and
    /// `postgres://` / `postgresql://` URLs with a user, a host and a database.
    public init?(_ text: String) {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            guard let components = URLComponents(string: text), components.user?.isEmpty == false,
                components.host?.isEmpty == false, components.path.count > 1
            else { return nil }
            self = .postgres(url: text)
            return
        }
        guard text.hasPrefix("sqlite:") else { return nil }
        var rest = String(text.dropFirst("sqlite:".count))
        if rest == ":memory:" {
            self = .sqliteMemory
            return
        }
        if rest.hasPrefix("//") { rest.removeFirst(2) }
        guard !rest.isEmpty, !rest.contains("\0") else { return nil }
        self = .sqliteFile(path: rest)
    }

    /// The URL for logs: a password is replaced by `***`.
    public var redacted: String {
        switch self {
        case .sqliteFile(let path): return "sqlite:\(path)"
        case .sqliteMemory: return "sqlite::memory:"
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "postgres://***" }
            if components.password != nil { components.password = "***" }
            return components.string ?? "postgres://***"
        }
    }
}
