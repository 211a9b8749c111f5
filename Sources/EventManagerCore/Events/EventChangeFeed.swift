/// One page of the change feed: what changed after a point, in the order it changed.
public struct EventChangePage: Sendable, Equatable {
    /// Events created or changed, as they are now.
    public var changed: [Event]
    /// Ids of events deleted.
    public var deleted: [Int64]
    /// The position of the last change on this page; nil when there was none.
    public var lastPosition: Int64?
    /// Whether more changes follow this page.
    public var hasMore: Bool

    public init(changed: [Event], deleted: [Int64], lastPosition: Int64?, hasMore: Bool) {
        self.changed = changed
        self.deleted = deleted
        self.lastPosition = lastPosition
        self.hasMore = hasMore
    }
}

/// Every change to the events in commit order, so a client can stay in sync by reading only
/// what changed since it last looked (`GET /events/changes`).
///
/// Each create, change and delete takes the next position of one counter, in the transaction
/// that makes it; the counter's row lock is held to the commit, so positions become visible in
/// order and a reader never passes over one that commits later.
public protocol EventChangeFeed: Sendable {
    /// Up to `limit` changes after `position`, oldest first; an event changed several times
    /// appears once, at its latest change.
    /// - Throws: `AppError` `sync_token_expired` when the deletions after `position` have been
    ///   purged (the client must sync again from the beginning).
    func changes(after position: Int64, limit: Int) async throws -> EventChangePage
}

/// A client's place in the change feed, as the API shows it: opaque to clients.
public struct SyncToken: Sendable, Equatable {
    public var position: Int64

    public init(position: Int64) {
        self.position = position
    }

    public var encoded: String { "v1.\(position)" }

    public static func parse(_ text: String) throws(AppError) -> SyncToken {
        guard text.hasPrefix("v1."), let position = Int64(text.dropFirst(3)), position >= 0 else {
            throw AppError(
                .badRequest, code: "invalid_sync_token",
                message: "since must be a sync_token from a previous answer of GET /events/changes")
        }
        return SyncToken(position: position)
    }

    public static let expired = AppError(
        .gone, code: "sync_token_expired",
        message: "this sync_token is older than the deletions kept; sync again without since to start from the beginning")
}
