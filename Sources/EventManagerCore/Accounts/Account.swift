/// What an account may do: admins anything, organizers their own events.
public enum Role: String, Sendable, CaseIterable {
    case admin
    case organizer
}

/// Someone who publishes events through the API with a key.
public struct Account: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var role: Role
    public var createdAt: Timestamp

    public init(id: Int64, name: String, role: Role, createdAt: Timestamp) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }
}

/// An API key as stored: never the secret, only its hash.
public struct APIKeyRecord: Sendable, Equatable {
    public var id: Int64
    public var accountID: Int64
    public var prefix: String
    public var createdAt: Timestamp
    public var lastUsedAt: Timestamp?
    public var revokedAt: Timestamp?

    public init(
        id: Int64, accountID: Int64, prefix: String, createdAt: Timestamp, lastUsedAt: Timestamp? = nil, revokedAt: Timestamp? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.prefix = prefix
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}

/// The caller a valid key identifies.
public struct Principal: Sendable, Equatable {
    public var accountID: Int64
    public var role: Role

    public init(accountID: Int64, role: Role) {
        self.accountID = accountID
        self.role = role
    }

    /// Whether this caller may change an event owned by `owner` (nil: created without a key).
    public func mayChange(eventOwnedBy owner: Int64?) -> Bool {
        role == .admin || owner == accountID
    }
}

/// The parts of an API key: `em_<id>_<secret>`.
///
/// The id (8 random bytes, hex) finds the row; the secret (32 random bytes, base64url: 256 bits)
/// is compared by its SHA-256 in constant time, so neither timing nor the database reveals it.
public struct APIKeyToken: Sendable, Equatable {
    public var lookupID: String
    public var secret: String

    public static let prefix = "em_"

    public init?(_ text: String) {
        guard text.hasPrefix(Self.prefix), text.utf8.count <= 200 else { return nil }
        let parts = text.dropFirst(Self.prefix.count).split(separator: "_", maxSplits: 1)
        guard parts.count == 2, parts[0].count == 16, parts[0].allSatisfy(\.isHexDigit), parts[1].count >= 43 else { return nil }
        lookupID = String(parts[0])
        secret = String(parts[1])
    }

    public init(lookupID: String, secret: String) {
        self.lookupID = lookupID
        self.secret = secret
    }

    public var text: String { Self.prefix + lookupID + "_" + secret }
}

/// Account names: 1-100 printable characters, trimmed.
public enum AccountName {
    public static func validate(_ raw: String) -> Result<String, FieldError> {
        let name = raw.trimmingWhitespace()
        // The limit applies to what was sent, as the OpenAPI document says, not to what trimming leaves.
        guard !name.isEmpty, raw.unicodeScalars.count <= 100,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            return .failure(
                FieldError(field: "name", code: "invalid_name", message: "a name is 1-100 characters without control characters"))
        }
        return .success(name)
    }
}
