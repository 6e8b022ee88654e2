import NIOCore
import NIOTestUtils
import Testing
import UnderstudyCore
import UnderstudyWire

@Suite struct ReplicationFrameDecoderTests {
    static let everyKind: [ReplicationFrame] = [
        .records(epoch: Epoch(3), compressed: false, rawBytes: 5, payload: [1, 2, 3, 4, 5]),
        .records(epoch: Epoch(3), compressed: true, rawBytes: 4096, payload: [9, 9, 9]),
        .snapshotChunk(epoch: Epoch(1), offset: 1 << 40, bytes: [UInt8](repeating: 0xAB, count: 300)),
        .snapshotEnd(epoch: Epoch(1), totalBytes: 12_345, checksum: 0xDEAD_BEEF),
        .heartbeat(epoch: Epoch(2), lastWrittenLSN: LSN(99), primaryTimeMilliseconds: 1_700_000_000_000, sentAtMilliseconds: 123_456,
                   leaseMilliseconds: 500),
        .heartbeatEcho(epoch: Epoch(2), sentAtMilliseconds: 123_456),
        .handover(epoch: Epoch(2), newEpoch: Epoch(3)),
        .acknowledge(epoch: Epoch(2), durableLSN: LSN(98), appliedLSN: LSN(97)),
        .error(epoch: Epoch(7), message: "diverged at LSN 5"),
    ]

    private func encoded(_ frame: ReplicationFrame) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeReplicationFrame(frame)
        return buffer
    }

    @Test func frameAtTheNodeLimit_waitsForItsBytes_andOnePastItIsRefused() throws {
        let limit = NodeLimits.standard.maxReplicationFrameBytes
        func header(length: Int) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt8(1))  // records
            buffer.writeInteger(UInt32(length), endianness: .little)
            buffer.writeInteger(UInt64(1), endianness: .little)
            return buffer
        }
        var atLimit = header(length: limit)
        #expect(try ReplicationFrameDecoder.readFrame(from: &atLimit, maxFrameBytes: limit) == nil, "a frame at the limit waits for its bytes")
        var pastLimit = header(length: limit + 1)
        #expect(throws: RESPProtocolError.self) { try ReplicationFrameDecoder.readFrame(from: &pastLimit, maxFrameBytes: limit) }
    }

    @Test func heartbeatOfAnOlderPrimary_withoutItsLease_isRead() throws {
        var buffer = ByteBuffer()
        buffer.writeReplicationFrame(.heartbeat(epoch: Epoch(2), lastWrittenLSN: LSN(9), primaryTimeMilliseconds: 1, sentAtMilliseconds: 2))
        // An older primary's heartbeat: the same frame 8 bytes shorter (no lease).
        buffer.setInteger(UInt32(24), at: buffer.readerIndex + 1, endianness: .little)
        buffer.moveWriterIndex(to: buffer.writerIndex - 8)
        #expect(try ReplicationFrameDecoder.readFrame(from: &buffer, maxFrameBytes: 1 << 20)
                == .heartbeat(epoch: Epoch(2), lastWrittenLSN: LSN(9), primaryTimeMilliseconds: 1, sentAtMilliseconds: 2, leaseMilliseconds: 0))
    }

    @Test func everyFrameKind_decodesWholeAndByteByByte() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: Self.everyKind.map { (encoded($0), [$0]) },
            decoderFactory: { ReplicationFrameDecoder() })
    }

    @Test func truncatedFrame_yieldsNothingAndConsumesNothing() throws {
        let whole = encoded(Self.everyKind[2])
        for length in 0..<whole.readableBytes {
            var partial = whole.getSlice(at: 0, length: length)!
            #expect(try ReplicationFrameDecoder.readFrame(from: &partial, maxFrameBytes: 1 << 20) == nil)
            #expect(partial.readerIndex == 0)
        }
    }

    @Test func frameAtLimit_isAccepted_andOneByteOver_isRefusedFromTheHeader() throws {
        let frame = ReplicationFrame.snapshotChunk(epoch: Epoch(1), offset: 0, bytes: [UInt8](repeating: 1, count: 92))
        var atLimit = encoded(frame)
        #expect(try ReplicationFrameDecoder.readFrame(from: &atLimit, maxFrameBytes: 100) == frame)
        var header = ByteBuffer()
        header.writeInteger(UInt8(2))
        header.writeInteger(UInt32(101), endianness: .little)
        header.writeInteger(UInt64(1), endianness: .little)
        #expect(throws: RESPProtocolError.self) { try ReplicationFrameDecoder.readFrame(from: &header, maxFrameBytes: 100) }
    }

    @Test func unknownTypeTrailingBytesAndBadLengths_areRefused() {
        var unknown = ByteBuffer(bytes: [99, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: RESPProtocolError.self) { try ReplicationFrameDecoder.readFrame(from: &unknown, maxFrameBytes: 100) }
        var heartbeatWithExtra = ByteBuffer(bytes: [4, 17, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 17))
        #expect(throws: RESPProtocolError.self) { try ReplicationFrameDecoder.readFrame(from: &heartbeatWithExtra, maxFrameBytes: 100) }
        var liar = encoded(.records(epoch: Epoch(1), compressed: false, rawBytes: 2, payload: [1, 2]))
        liar.setInteger(UInt32(3), at: ReplicationFrame.headerBytes + 1, endianness: .little)
        #expect(throws: RESPProtocolError.self) { try ReplicationFrameDecoder.readFrame(from: &liar, maxFrameBytes: 100) }
    }
}
