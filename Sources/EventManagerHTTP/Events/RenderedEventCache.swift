import EventManagerCore
import Hummingbird
import NIOCore
import Synchronization

/// `GET /events/{id}` answers, rendered once per revision of an event.
///
/// An event's JSON and its validators (`ETag`, `Last-Modified`) change only with its revision,
/// so the bytes are written once and reused until the next change; the event itself is still
/// read for every request (from memory where the repository caches it), so an answer is never
/// older than its event. Correct on any number of nodes. Bounded: when full, each new answer
/// takes the place of the oldest (`BoundedCache`).
final class RenderedEventCache: Sendable {
    struct Rendered: Sendable {
        let revision: Int64
        let tag: String
        let headers: HTTPFields
        let body: ByteBuffer
    }

    private let entries: Mutex<BoundedCache<Int64, Rendered>>

    init(maxEntries: Int = 10_000) {
        entries = Mutex(BoundedCache(capacity: maxEntries))
    }

    /// The answer for `event` as it is now.
    func rendered(_ event: Event) -> Rendered {
        if let cached = entries.withLock({ $0[event.id] }), cached.revision == event.revision { return cached }
        var writer = JSONWriter(capacity: 256)
        writer.event(event)
        let tag = EntityTag.event(event)
        var headers = Response.jsonHeaders
        headers[.eTag] = tag
        headers[.lastModified] = CivilTime(event.updatedAt).httpDate
        let rendered = Rendered(revision: event.revision, tag: tag, headers: headers, body: ByteBuffer(bytes: writer.bytes))
        entries.withLock { $0.insert(rendered, for: event.id) }
        return rendered
    }
}
