import NIOCore
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite struct HeldRepliesTests {
    private func text(_ buffer: ByteBuffer?) -> String {
        buffer.map { String(buffer: $0) } ?? ""
    }

    @Test func release_sendsOnlyRepliesWhoseLSNIsVisible_inOrder() {
        var held = HeldReplies(allocator: ByteBufferAllocator())
        held.append(.ok, requiredLSN: LSN(1))
        held.append(.integer(7), requiredLSN: LSN(1))
        held.append(.simple("PONG"), requiredLSN: LSN(3))
        held.append(.simple("PONG"), requiredLSN: .zero)
        #expect(held.count == 4)
        #expect(text(held.release(upTo: .zero)) == "")
        #expect(text(held.release(upTo: LSN(2))) == "+OK\r\n:7\r\n")
        // A reply that needs nothing still waits behind an earlier one that does.
        #expect(held.count == 2)
        #expect(text(held.release(upTo: LSN(3))) == "+PONG\r\n+PONG\r\n")
        #expect(held.isEmpty)
    }

    @Test func fail_releasesDurableRepliesAndCountsTheRest() {
        var held = HeldReplies(allocator: ByteBufferAllocator())
        held.append(.ok, requiredLSN: LSN(1))
        held.append(.ok, requiredLSN: LSN(2))
        held.append(.ok, requiredLSN: LSN(3))
        let (released, failed) = held.fail(after: LSN(1))
        #expect(text(released) == "+OK\r\n")
        #expect(failed == 2)
        #expect(held.isEmpty)
    }

    @Test func manyReleases_keepMemoryBounded() {
        var held = HeldReplies(allocator: ByteBufferAllocator())
        let value = Reply.bulk([UInt8](repeating: 65, count: 1000))
        for round in 1...500 {
            held.append(value, requiredLSN: LSN(UInt64(round)))
            held.append(value, requiredLSN: LSN(UInt64(round + 1)))
            #expect(held.release(upTo: LSN(UInt64(round))) != nil)
        }
        #expect(held.count == 1)
    }
}
