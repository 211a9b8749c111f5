/// A dictionary of at most `capacity` entries that, when full, forgets the entry it took in
/// first: one entry per insertion, never all at once.
///
/// The caches in front of the database used to start over when full. At a million events read at
/// random they filled every few seconds, and freeing 10,000 rendered answers (inside their lock)
/// or 100,000 kept events at once stalled the requests behind them: single reads on an API node
/// had a p99 of 2.1 to 3.3 ms (1.4 to 1.6 without the start-overs) and a max of 30 to 47 ms.
/// Forgetting in the order of insertion is what a start-over did too, only spread out; for
/// entries read at random it keeps as many useful ones as any other order would.
///
/// Inlinable, so that each cache's use is specialized for its types where it is used (another
/// module): generic, every look-up copied its value through the type's value witnesses.
public struct BoundedCache<Key: Hashable, Value> {
    public let capacity: Int
    @usableFromInline var entries: [Key: Value] = [:]
    /// Every key of `entries`, in the order they came in, from `oldest` around; a removed key
    /// keeps its place until its turn.
    @usableFromInline var order: [Key] = []
    @usableFromInline var oldest = 0

    @inlinable
    public init(capacity: Int) {
        precondition(capacity > 0, "a cache holds at least one entry")
        self.capacity = capacity
        // Room for every entry from the start: growing rehashes all entries at once, inside the
        // caller's lock (at 98,304 kept events, 20 ms). Untouched pages cost no memory.
        entries.reserveCapacity(capacity)
        order.reserveCapacity(capacity)
    }

    @inlinable
    public var count: Int { entries.count }

    @inlinable
    public subscript(key: Key) -> Value? { entries[key] }

    /// Stores `value` under `key`; a new key in a full cache takes the oldest key's place.
    @inlinable
    public mutating func insert(_ value: Value, for key: Key) {
        if let index = entries.index(forKey: key) {
            entries.values[index] = value
            return
        }
        if order.count < capacity {
            order.append(key)
        } else {
            entries[order[oldest]] = nil
            order[oldest] = key
            oldest = (oldest + 1) % capacity
        }
        entries[key] = value
    }

    /// Forgets `key` at once; its place in the order goes when its turn comes. A key stored
    /// again meanwhile may hold two places and leave at the first: a miss sooner, never more
    /// than `capacity` entries.
    @inlinable
    public mutating func remove(_ key: Key) {
        entries[key] = nil
    }
}

extension BoundedCache: Sendable where Key: Sendable, Value: Sendable {}
