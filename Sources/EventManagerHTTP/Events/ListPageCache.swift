import Hummingbird
import NIOCore
import Synchronization

/// Rendered pages of the event list, reused until the events change.
///
/// A page is a pure function of the request's path and query and of the events, so while the
/// repository's `version` stays the same, the same request gets the same bytes: a popular list
/// (the front page, a feed reader's poll) is read and written once per change instead of once
/// per request. The version is the repository's `currentVersion()`: a single SQLite node's own
/// count of its writes, or on PostgreSQL the events' change counter (shared by every node);
/// a repository without one caches nothing. Bounded in entries and in the size of a page.
final class ListPageCache: Sendable {
    struct Page: Sendable {
        let version: UInt64
        let body: ByteBuffer
        let tag: String
        let link: String?
    }

    private let pages = Mutex<[String: Page]>([:])
    let maxEntries: Int
    let maxPageBytes: Int

    init(maxEntries: Int = 1024, maxPageBytes: Int = 512 * 1024) {
        self.maxEntries = maxEntries
        self.maxPageBytes = maxPageBytes
    }

    /// The page stored for `key` while the events are at `version`.
    func page(_ key: String, version: UInt64) -> Page? {
        pages.withLock { pages in
            guard let page = pages[key], page.version == version else { return nil }
            return page
        }
    }

    /// Keeps a page rendered from events read at `version`, unless they changed meanwhile.
    func store(_ key: String, _ page: Page, current: UInt64?) {
        guard current == page.version, page.body.readableBytes <= maxPageBytes else { return }
        pages.withLock { pages in
            if pages.count >= maxEntries {
                // Pages of an older version are useless; if all are current, start over.
                pages = pages.filter { $0.value.version == page.version }
                if pages.count >= maxEntries { pages.removeAll(keepingCapacity: true) }
            }
            pages[key] = page
        }
    }
}
