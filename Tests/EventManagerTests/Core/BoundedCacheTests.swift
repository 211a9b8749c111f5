import Testing

@testable import EventManagerCore

/// A full cache forgets one entry per new key, the one that came in first.
@Suite struct BoundedCacheTests {
    @Test func aNewKeyInAFullCacheTakesTheOldestKeysPlace() {
        var cache = BoundedCache<Int, String>(capacity: 3)
        for key in 1...3 { cache.insert("v\(key)", for: key) }
        cache.insert("v1 again", for: 1)  // a known key: replaced in place, still the oldest
        #expect(cache.count == 3)
        cache.insert("v4", for: 4)
        #expect(cache[1] == nil, "the first key in goes first, even though it was written again")
        #expect(cache[2] == "v2" && cache[3] == "v3" && cache[4] == "v4")
        cache.insert("v5", for: 5)
        cache.insert("v6", for: 6)
        #expect(cache.count == 3)
        #expect([1, 2, 3].allSatisfy { cache[$0] == nil })
        #expect(cache[5] == "v5" && cache[6] == "v6" && cache[4] == "v4")
    }

    /// A removed key is gone at once, its place in the order goes in turn, and the cache never
    /// holds more than its capacity.
    @Test func aRemovedKeyIsGoneAndTheBoundHolds() {
        var cache = BoundedCache<Int, String>(capacity: 2)
        cache.insert("a", for: 1)
        cache.insert("b", for: 2)
        cache.remove(1)
        #expect(cache[1] == nil && cache.count == 1)
        cache.insert("a again", for: 1)  // takes the place that came first: its own
        #expect(cache[1] == "a again" && cache[2] == "b")
        cache.insert("c", for: 3)
        #expect(cache[2] == nil, "the oldest place left is 2's")
        #expect(cache[1] == "a again" && cache[3] == "c")
        cache.remove(3)
        cache.insert("d", for: 4)  // 1's place came first
        #expect(cache[1] == nil && cache.count == 1)
        cache.insert("c again", for: 3)  // 3's old place is next in turn: it takes it back
        #expect(cache[3] == "c again" && cache[4] == "d")
        for key in 4..<20 {
            cache.insert("v", for: key)
            #expect(cache.count <= 2)
        }
    }

    /// Against a model that keeps every key in order of arrival: the same entries after every
    /// insertion, for many keys over a small capacity.
    @Test func matchesAModelOfArrivalOrder() {
        var cache = BoundedCache<Int, Int>(capacity: 7)
        var arrivals: [Int] = []
        var values: [Int: Int] = [:]
        var seed: UInt64 = 12_345
        for step in 0..<2_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let key = Int(seed >> 60)  // 16 keys over 7 places: hits, updates and evictions
            if values[key] == nil {
                arrivals.append(key)
                if arrivals.count > 7 { values[arrivals.removeFirst()] = nil }
            }
            values[key] = step
            cache.insert(step, for: key)
            #expect(cache.count == values.count)
            for key in 0..<16 { #expect(cache[key] == values[key], "step \(step), key \(key)") }
        }
    }
}
