import NIOCore
import UnderstudyCore
import UnderstudyWire

/// Encoded replies of one connection that wait for the log to become durable, in order.
///
/// Replies are released strictly in the order they were queued: a reply that needs no
/// durability (PING) still waits behind an earlier write's reply, so a pipelining client
/// always reads its replies in request order.
struct HeldReplies {
    /// A run of consecutive replies that depend on the same LSN.
    private struct Mark {
        var requiredLSN: LSN
        var endIndex: Int
        var count: Int
    }

    private var bytes: ByteBuffer
    private var marks: [Mark] = []
    private var firstMark = 0
    private(set) var count = 0

    init(allocator: ByteBufferAllocator) {
        bytes = allocator.buffer(capacity: 0)
    }

    var isEmpty: Bool { count == 0 }

    /// Queues `reply`, encoded now in `version` (the connection's protocol when its command ran).
    mutating func append(_ reply: Reply, requiredLSN: LSN, protocol version: ProtocolVersion = .resp2) {
        bytes.writeRESPReply(reply, protocol: version)
        count += 1
        if firstMark < marks.count, marks[marks.count - 1].requiredLSN == requiredLSN {
            marks[marks.count - 1].endIndex = bytes.writerIndex
            marks[marks.count - 1].count += 1
        } else {
            marks.append(Mark(requiredLSN: requiredLSN, endIndex: bytes.writerIndex, count: 1))
        }
    }

    /// Removes and returns the encoded replies whose LSN is at most `lsn`, up to the first
    /// one that must still wait.
    mutating func release(upTo lsn: LSN) -> ByteBuffer? {
        var end = bytes.readerIndex
        while firstMark < marks.count, marks[firstMark].requiredLSN <= lsn {
            end = marks[firstMark].endIndex
            count -= marks[firstMark].count
            firstMark += 1
        }
        guard end > bytes.readerIndex else { return nil }
        let released = bytes.readSlice(length: end - bytes.readerIndex)
        compactIfDrained()
        return released
    }

    /// Removes the replies up to the first one that needs an LSN above `through`; those that
    /// need an LSN in `after+1 ... through` are replaced by `-message` (their records timed
    /// out waiting for the standby), the others are released as they are.
    mutating func release(upTo through: LSN, failingAbove after: LSN, message: String) -> ByteBuffer? {
        var output = ByteBuffer()
        while firstMark < marks.count, marks[firstMark].requiredLSN <= through {
            let mark = marks[firstMark]
            if mark.requiredLSN > after {
                bytes.moveReaderIndex(to: mark.endIndex)
                for _ in 0..<mark.count { output.writeRESPReply(.error(message)) }
            } else {
                var slice = bytes.readSlice(length: mark.endIndex - bytes.readerIndex)!
                output.writeBuffer(&slice)
            }
            count -= mark.count
            firstMark += 1
        }
        compactIfDrained()
        return output.readableBytes > 0 ? output : nil
    }

    /// Removes every held reply; returns how many of them depended on an LSN above `lsn`
    /// (those are to be answered with an error) and the bytes of those that did not.
    mutating func fail(after lsn: LSN) -> (released: ByteBuffer?, failedCount: Int) {
        let released = release(upTo: lsn)
        let failed = count
        bytes.clear()
        marks.removeAll()
        firstMark = 0
        count = 0
        return (released, failed)
    }

    private mutating func compactIfDrained() {
        if firstMark == marks.count {
            marks.removeAll(keepingCapacity: true)
            firstMark = 0
            bytes.clear()
            return
        }
        if firstMark > 64 {
            marks.removeFirst(firstMark)
            firstMark = 0
        }
        if bytes.readerIndex > 64 << 10 {
            let shift = bytes.readerIndex
            bytes.discardReadBytes()
            for index in marks.indices { marks[index].endIndex -= shift }
        }
    }
}
