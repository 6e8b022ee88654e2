import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct WALFormatTests {
    @Test func frame_roundTrip() throws {
        var buffer: [UInt8] = []
        let effects = testRecord(7)
        try WALFormat.appendFrame(epoch: Epoch(3), lsn: LSN(42), effects: effects, to: &buffer)
        try WALFormat.appendFrame(epoch: Epoch(4), lsn: LSN(43), effects: [.flushAll], to: &buffer)
        try buffer.withUnsafeBytes { raw in
            let first = try WALFormat.parseFrame(raw, at: 0).get()
            #expect(first.epoch == Epoch(3) && first.lsn == LSN(42))
            #expect(try Effect.decodeRecord(UnsafeRawBufferPointer(rebasing: raw[first.payload])) == effects)
            let second = try WALFormat.parseFrame(raw, at: first.end).get()
            #expect(second.epoch == Epoch(4) && second.lsn == LSN(43) && second.end == raw.count)
        }
    }

    @Test func frame_everyTruncation_isIncomplete() throws {
        var buffer: [UInt8] = []
        try WALFormat.appendFrame(epoch: .initial, lsn: LSN(1), effects: testRecord(1), to: &buffer)
        for length in 0..<buffer.count {
            let result = buffer.prefix(length).withUnsafeBytes { WALFormat.parseFrame($0, at: 0) }
            guard case .failure(.incomplete) = result else {
                Issue.record("length \(length): \(result)")
                continue
            }
        }
    }

    @Test func frame_anyFlippedBitAfterTheLength_failsTheChecksum() throws {
        var buffer: [UInt8] = []
        try WALFormat.appendFrame(epoch: .initial, lsn: LSN(1), effects: testRecord(2), to: &buffer)
        for offset in 4..<buffer.count {
            var damaged = buffer
            damaged[offset] ^= 0x01
            let result = damaged.withUnsafeBytes { WALFormat.parseFrame($0, at: 0) }
            guard case .failure(.checksumMismatch) = result else {
                Issue.record("offset \(offset): \(result)")
                continue
            }
        }
    }

    @Test func frame_lengthAboveLimit_isRefusedBeforeReading() {
        var buffer = [UInt8](repeating: 0, count: WALFormat.frameHeaderBytes)
        buffer.storeUInt32(UInt32(WALFormat.maxPayloadBytes + 1), at: 0)
        let result = buffer.withUnsafeBytes { WALFormat.parseFrame($0, at: 0) }
        guard case .failure(.lengthTooLarge) = result else {
            Issue.record("\(result)")
            return
        }
    }

    @Test func segmentHeader_roundTrip_andDamage() {
        let header = WALFormat.segmentHeader(firstLSN: LSN(1234))
        #expect(header.count == WALFormat.segmentHeaderBytes)
        #expect(header.withUnsafeBytes { WALFormat.checkSegmentHeader($0) } == .valid(firstLSN: LSN(1234)))
        var damaged = header
        damaged[17] ^= 1
        #expect(damaged.withUnsafeBytes { WALFormat.checkSegmentHeader($0) } == .invalid("header checksum mismatch"))
    }

    @Test func segmentNames_sortByLSN_andParseStrictly() {
        #expect(WALFormat.segmentName(firstLSN: LSN(42)) == "00000000000000000042.wal")
        #expect(WALFormat.firstLSN(ofSegmentNamed: "00000000000000000042.wal") == LSN(42))
        #expect(WALFormat.segmentName(firstLSN: LSN(9)) < WALFormat.segmentName(firstLSN: LSN(10)))
        #expect(WALFormat.firstLSN(ofSegmentNamed: "42.wal") == nil)
        #expect(WALFormat.firstLSN(ofSegmentNamed: "0000000000000000004x.wal") == nil)
        #expect(WALFormat.firstLSN(ofSegmentNamed: "00000000000000000000.wal") == nil)
        #expect(WALFormat.firstLSN(ofSegmentNamed: "00000000000000000042.wal.tmp") == nil)
    }
}
