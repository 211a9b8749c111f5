import NIOCore
import Testing

@testable import EventManagerHTTP

/// A body's tag is the same in every process and node, and a body changed anywhere gets
/// another tag.
@Suite struct EntityTagTests {
    @Test func aBodysTagIsStableAndFollowsEveryByte() {
        let page = ByteBuffer(string: String(repeating: "{\"id\":1,\"title\":\"Event\"},", count: 40))
        // A fixed value: a hash seeded per process would make every node tag the same page
        // differently, and clients would never get their 304.
        #expect(EntityTag.body(page) == EntityTag.body(ByteBuffer(bytes: Array(page.readableBytesView))))
        #expect(EntityTag.body(ByteBuffer(string: "hello")) == "\"680b42fc4277cceb\"")
        var tags: Set<String> = [EntityTag.body(page)]
        let bytes = Array(page.readableBytesView)
        for offset in [0, 7, 31, 32, 500, bytes.count - 1] {
            for bit in [0, 7] {
                var changed = bytes
                changed[offset] ^= UInt8(1 << bit)
                tags.insert(EntityTag.body(ByteBuffer(bytes: changed)))
            }
        }
        #expect(tags.count == 13, "each changed bit gives a tag of its own")
        #expect(EntityTag.body(ByteBuffer(bytes: bytes.dropLast())) != EntityTag.body(page))
        #expect(EntityTag.body(ByteBuffer()) != EntityTag.body(ByteBuffer(bytes: [0])))
    }
}
