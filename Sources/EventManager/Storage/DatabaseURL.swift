/// Where the data lives, parsed from `db.url`.
public enum DatabaseURL: Sendable, Equatable {
    /// A SQLite file; relative paths resolve against the working directory.
    case sqliteFile(path: String)
    /// A SQLite database that lives only as long as the process (tests).
    case sqliteMemory

    /// Accepts `sqlite:PATH`, `sqlite://PATH`, `sqlite:///ABSOLUTE` and `sqlite::memory:`.
    public init?(_ text: String) {
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
}
