import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct WALWriterAppendFramesTests {
    @Test func standby_copiesThePrimarysFrames_byteForByte() throws {
        let primary = try LiveLog(segmentMaxBytes: 400)
        try primary.write(1...150, recordsPerWrite: 2)
        try primary.write(151...170, epoch: Epoch(3))
        try primary.sync()
        let standby = try LiveLog(segmentMaxBytes: 1000)
        let reader = primary.reader
        try reader.seek(to: LSN(1))
        var keyspace = Keyspace()
        while let batch = try reader.readFrames(upTo: primary.writer.lastWrittenLSN, maxBytes: 700) {
            for record in try WALFormat.decodeFrames(batch.bytes) { keyspace.apply(record.effects) }
            #expect(try standby.writer.appendFrames(batch.bytes) == batch.lastLSN)
            try standby.writer.writePending()
        }
        try standby.sync()
        #expect(standby.writer.lastAppendedLSN == LSN(170))
        #expect(standby.writer.lastAppendedEpoch == Epoch(3))
        #expect(standby.writer.lastRecordChecksum == primary.writer.lastRecordChecksum)
        #expect(try segmentFrameBytes(standby.directory) == (try segmentFrameBytes(primary.directory)))
        standby.writer.close()
        let recovered = try recover(standby.directory)
        #expect(recovered.lastLSN == LSN(170) && recovered.lastEpoch == Epoch(3))
        #expect(recovered.lastRecordChecksum == primary.writer.lastRecordChecksum)
        #expect(recovered.keyspace.entries == keyspace.entries)
        #expect(keyspace.entries == expectedKeyspace(records: 1...170).entries)
    }

    @Test func badChecksum_isRefused_andNothingIsAppended() throws {
        let standby = try LiveLog()
        var frames = try expectedFrames(1...5)
        frames[frames.count - 3] ^= 0x01
        try expectRefusal(standby.writer, frames, code: .invalidFrames)
        #expect(try standby.writer.appendFrames(try expectedFrames(1...5)) == LSN(5))  // still usable
    }

    @Test func gapOrDuplicate_isRefusedAsAnLSNGap() throws {
        let standby = try LiveLog()
        try standby.write(1...3)
        try expectRefusal(standby.writer, try expectedFrames(5...6), code: .lsnGap)
        try expectRefusal(standby.writer, try expectedFrames(3...6), code: .lsnGap)
        var skipping = try expectedFrames(4...5)
        skipping += try expectedFrames(7...7)
        let error = try expectRefusal(standby.writer, skipping, code: .lsnGap)
        #expect(error?.offset == Int64(try expectedFrames(4...5).count))
    }

    @Test func lowerEpoch_isRefused() throws {
        let standby = try LiveLog()
        try standby.write(1...3, epoch: Epoch(2))
        try expectRefusal(standby.writer, try expectedFrames(4...5), code: .invalidFrames)
        // Within one batch, too.
        try expectRefusal(standby.writer, try expectedFrames(4...6) { $0 == 6 ? Epoch(2) : Epoch(3) }, code: .invalidFrames)
        #expect(try standby.writer.appendFrames(try expectedFrames(4...6) { _ in Epoch(3) }) == LSN(6))
    }

    @Test func partialFrame_isRefused() throws {
        let standby = try LiveLog()
        let frames = try expectedFrames(1...4)
        for cut in [1, WALFormat.frameHeaderBytes, frames.count - 1] {
            try expectRefusal(standby.writer, Array(frames.prefix(cut)), code: .invalidFrames)
        }
        try expectRefusal(standby.writer, frames + [0], code: .invalidFrames)
    }

    @Test func emptyInput_appendsNothing() throws {
        let standby = try LiveLog()
        try standby.write(1...2)
        #expect(try standby.writer.appendFrames([]) == LSN(2))
        #expect(standby.writer.pendingBytes == 0)
    }

    @Test func decodeFrames_returnsEveryRecord_withItsChecksumAndPlace() throws {
        let frames = try expectedFrames(11...20) { $0 < 15 ? Epoch(1) : Epoch(4) }
        let records = try WALFormat.decodeFrames(frames)
        #expect(records.map(\.lsn) == (11...20).map { LSN(UInt64($0)) })
        #expect(records.map(\.effects) == (11...20).map { testRecord($0) })
        #expect(records.map(\.epoch.rawValue) == [1, 1, 1, 1, 4, 4, 4, 4, 4, 4])
        var previousEnd = 0
        for record in records {
            #expect(record.frameBytes.lowerBound == previousEnd)
            #expect(record.checksum == frames.withUnsafeBytes { $0.readUInt32(at: record.frameBytes.lowerBound + 4) })
            previousEnd = record.frameBytes.upperBound
        }
        #expect(previousEnd == frames.count)
        // A frame with a valid CRC but an undecodable payload is refused too.
        var undecodable: [UInt8] = []
        undecodable.appendUInt32(1)
        undecodable.appendUInt32(0)
        undecodable.appendUInt64(1)
        undecodable.appendUInt64(1)
        undecodable.append(0xEE)
        undecodable.storeUInt32(CRC32C.checksum(undecodable[8...]), at: 4)
        #expect(storageError { _ = try WALFormat.decodeFrames(undecodable) }?.code == .invalidFrames)
    }

    @Test func appendDecodedFrames_copiesTheDecodedSlice_byteForByte() throws {
        let standby = try LiveLog()
        try standby.write(1...3)
        let frames = try expectedFrames(2...8)  // 2 and 3 are duplicates the caller slices off
        let records = try WALFormat.decodeFrames(frames)
        let lsn = try frames.withUnsafeBytes { try standby.writer.appendDecodedFrames(records[2...], in: $0) }
        #expect(lsn == LSN(8))
        #expect(standby.writer.lastRecordChecksum == records.last?.checksum)
        #expect(standby.writer.pendingBytes == frames.count - records[2].frameBytes.lowerBound)
        try standby.writer.writePending()
        try standby.sync()
        standby.writer.close()
        #expect(try recover(standby.directory).keyspace.entries == expectedKeyspace(records: 1...8).entries)
    }

    @Test func appendDecodedFrames_refusesAGapALowerEpochOrAHole_andAppendsNothing() throws {
        let standby = try LiveLog()
        try standby.write(1...3, epoch: Epoch(2))
        let gap = try expectedFrames(5...6) { _ in Epoch(2) }
        try expectDecodedRefusal(standby.writer, gap, try WALFormat.decodeFrames(gap)[...], code: .lsnGap)
        let lowerEpoch = try expectedFrames(4...5)
        try expectDecodedRefusal(standby.writer, lowerEpoch, try WALFormat.decodeFrames(lowerEpoch)[...], code: .invalidFrames)
        let frames = try expectedFrames(4...6) { _ in Epoch(2) }
        var holed = try WALFormat.decodeFrames(frames)
        holed[1].frameBytes = holed[1].frameBytes.lowerBound + 1..<holed[1].frameBytes.upperBound
        try expectDecodedRefusal(standby.writer, frames, holed[...], code: .invalidFrames)
        let whole = try WALFormat.decodeFrames(frames)
        #expect(try frames.withUnsafeBytes { try standby.writer.appendDecodedFrames(whole[...], in: $0) } == LSN(6))
    }

    private func expectDecodedRefusal(_ writer: WALWriter, _ frames: [UInt8], _ records: ArraySlice<WALRecord>, code: StorageError.Code, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = (writer.lastAppendedLSN, writer.lastAppendedEpoch, writer.pendingBytes, writer.lastRecordChecksum)
        let error = storageError({ try frames.withUnsafeBytes { _ = try writer.appendDecodedFrames(records, in: $0) } }, sourceLocation: sourceLocation)
        #expect(error?.code == code, sourceLocation: sourceLocation)
        let after = (writer.lastAppendedLSN, writer.lastAppendedEpoch, writer.pendingBytes, writer.lastRecordChecksum)
        #expect(before == after, "nothing may be appended", sourceLocation: sourceLocation)
    }

    @discardableResult
    private func expectRefusal(_ writer: WALWriter, _ frames: [UInt8], code: StorageError.Code, sourceLocation: SourceLocation = #_sourceLocation) throws -> StorageError? {
        let before = (writer.lastAppendedLSN, writer.lastAppendedEpoch, writer.pendingBytes, writer.lastRecordChecksum)
        let error = storageError({ try writer.appendFrames(frames) }, sourceLocation: sourceLocation)
        #expect(error?.code == code, sourceLocation: sourceLocation)
        let after = (writer.lastAppendedLSN, writer.lastAppendedEpoch, writer.pendingBytes, writer.lastRecordChecksum)
        #expect(before == after, "nothing may be appended", sourceLocation: sourceLocation)
        return error
    }
}
