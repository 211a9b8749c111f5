/// Accounts and their API keys, as the admin routes and the CLI use them.
public protocol AccountRepository: KeyAuthenticator {
    /// - Throws: `AppError` 409 when the name is taken.
    func createAccount(name: String, role: Role, now: Timestamp) async throws -> Account
    func accounts() async throws -> [Account]
    func account(id: Int64) async throws -> Account?
    func account(named name: String) async throws -> Account?
    /// Makes a key for the account; the returned token is the only time the secret exists.
    func createKey(accountID: Int64, now: Timestamp) async throws -> (APIKeyRecord, APIKeyToken)
    /// Revokes a key; false when there is no such key.
    func revokeKey(id: Int64, now: Timestamp) async throws -> Bool
    func keys(accountID: Int64) async throws -> [APIKeyRecord]
}

/// Finds the caller an API key names.
public protocol KeyAuthenticator: Sendable {
    /// The caller a bearer token identifies, or nil for an unknown, malformed or revoked key.
    func authenticate(_ token: String, now: Timestamp) async throws -> Principal?
}
