import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct WALReaderTests {
    @Test func readFrames_acrossSegmentRollover_returnsExactlyTheWrittenFrames() throws {
        let log = try LiveLog(segmentMaxBytes: 300)
        try log.write(1...200, recordsPerWrite: 3)
        #expect(try WALSegments.list(dataDirectory: log.directory.path).count > 5)
        let (bytes, batches) = try readAll(log.reader, from: LSN(1), upTo: LSN(200), maxBytes: 1000)
        #expect(bytes == (try expectedFrames(1...200)))
        #expect(bytes == (try segmentFrameBytes(log.directory)))
        var next = LSN(1)
        for batch in batches {
            #expect(batch.firstLSN == next)
            #expect(batch.count == Int(batch.lastLSN.rawValue - batch.firstLSN.rawValue + 1))
            #expect(try WALFormat.decodeFrames(batch.bytes).map(\.lsn) == (batch.firstLSN.rawValue...batch.lastLSN.rawValue).map { LSN($0) })
            next = batch.lastLSN.next
        }
        #expect(next == LSN(201))
    }

    @Test func seek_toEveryLSN_readsFromThere_andChecksumsMatch() throws {
        let log = try LiveLog(segmentMaxBytes: 500)
        try log.write(1...150, recordsPerWrite: 4)
        let all = try WALFormat.decodeFrames(try expectedFrames(1...150))
        let reader = log.reader
        // Backwards, so every seek goes against the index built by earlier ones.
        for lsn in (1...150).reversed() {
            try reader.seek(to: LSN(UInt64(lsn)))
            let batch = try #require(try reader.readFrames(upTo: LSN(150), maxBytes: 1 << 20))
            #expect(batch.firstLSN == LSN(UInt64(lsn)) && batch.lastLSN == LSN(150))
            #expect(batch.bytes == (try expectedFrames(lsn...150)))
            #expect(try reader.recordChecksum(at: LSN(UInt64(lsn))) == all[lsn - 1].checksum)
        }
        try reader.seek(to: LSN(151))
        #expect(try reader.readFrames(upTo: LSN(150), maxBytes: 1 << 20) == nil)
        #expect(try reader.recordChecksum(at: LSN(151)) == nil)
        #expect(try reader.recordChecksum(at: .zero) == nil)
        #expect(storageError { try reader.seek(to: LSN(152)) }?.code == .invalidState)
        #expect(log.writer.lastRecordChecksum == all[149].checksum)
    }

    @Test(arguments: [1, 23, 24, 40, 41, 100, 333, 4096])
    func readFrames_withMaxBytes_neverSplitsAFrame_andReturnsAtLeastOne(maxBytes: Int) throws {
        let log = try LiveLog(segmentMaxBytes: 700)
        try log.write(1...60, recordsPerWrite: 5)
        _ = try log.writer.append(epoch: .initial, effects: [.set(key: Array("big".utf8), value: [UInt8](repeating: 7, count: 10_000), expireAtMilliseconds: nil)])
        try log.write(62...70)
        var expected = try expectedFrames(1...60)
        try WALFormat.appendFrame(epoch: .initial, lsn: LSN(61), effects: [.set(key: Array("big".utf8), value: [UInt8](repeating: 7, count: 10_000), expireAtMilliseconds: nil)], to: &expected)
        expected += try expectedFrames(62...70)

        let (bytes, batches) = try readAll(log.reader, from: LSN(1), upTo: LSN(70), maxBytes: maxBytes)
        #expect(bytes == expected)
        for batch in batches {
            #expect(batch.count >= 1)
            #expect(batch.bytes.count <= maxBytes || batch.count == 1)
            #expect(try WALFormat.decodeFrames(batch.bytes).count == batch.count)
        }
    }

    @Test func readFrames_whileTheWriterAppendsOnTheSameThread_seesOnlyWrittenFrames() throws {
        let log = try LiveLog(segmentMaxBytes: 256)
        let reader = log.reader
        try reader.seek(to: LSN(1))
        #expect(try reader.readFrames(upTo: log.writer.lastWrittenLSN, maxBytes: 512) == nil)
        var received: [UInt8] = []
        for round in 0..<60 {
            for index in (round * 5 + 1)...(round * 5 + 5) {
                _ = try log.writer.append(epoch: .initial, effects: testRecord(index))
                if index % 3 == 0 { try log.writer.writePending() }
            }
            // Pending records are not in the files: only what was written is read.
            while let batch = try reader.readFrames(upTo: log.writer.lastWrittenLSN, maxBytes: 200) {
                #expect(batch.lastLSN <= log.writer.lastWrittenLSN)
                received += batch.bytes
            }
            #expect(reader.nextLSN == log.writer.lastWrittenLSN.next)
        }
        try log.writer.writePending()
        while let batch = try reader.readFrames(upTo: log.writer.lastWrittenLSN, maxBytes: 200) { received += batch.bytes }
        #expect(received == (try expectedFrames(1...300)))
    }

    @Test func emptyLog_seekWaits_thenReadsOnceRecordsAreWritten() throws {
        let log = try LiveLog()
        let reader = log.reader
        #expect(try WALReader.oldestRetainedLSN(dataDirectory: log.directory.path) == nil)
        try reader.seek(to: LSN(1))
        #expect(try reader.readFrames(upTo: .zero, maxBytes: 100) == nil)
        try log.write(1...3)
        #expect(try reader.readFrames(upTo: LSN(3), maxBytes: 1 << 20)?.bytes == (try expectedFrames(1...3)))
        #expect(try WALReader.oldestRetainedLSN(dataDirectory: log.directory.path) == LSN(1))
    }

    @Test func seek_belowTheOldestSegment_throwsWalNotRetained() throws {
        let log = try LiveLog(segmentMaxBytes: 512)
        try log.write(1...100)
        try log.sync()
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...100), lsn: LSN(100), epoch: .initial, lastRecordChecksum: nil, dataDirectory: log.directory.path)
        let removed = try WALSegments.prune(dataDirectory: log.directory.path, coveredBy: LSN(100), retainBytes: 0, activeSegmentFirstLSN: log.writer.activeSegmentFirstLSN)
        #expect(!removed.isEmpty)
        let oldest = try #require(try WALReader.oldestRetainedLSN(dataDirectory: log.directory.path))
        #expect(oldest > LSN(1))
        let reader = log.reader
        let error = storageError { try reader.seek(to: LSN(oldest.rawValue - 1)) }
        #expect(error?.code == .walNotRetained)
        #expect(try reader.recordChecksum(at: LSN(1)) == nil)
        let (bytes, _) = try readAll(reader, from: oldest, upTo: LSN(100), maxBytes: 300)
        #expect(bytes == (try expectedFrames(Int(oldest.rawValue)...100)))
    }

    @Test func segmentPrunedWhileReading_finishesTheOpenSegment_thenThrowsWalNotRetained() throws {
        let log = try LiveLog(segmentMaxBytes: 512)
        try log.write(1...100)
        try log.sync()
        let segments = try WALSegments.list(dataDirectory: log.directory.path)
        let reader = log.reader
        try reader.seek(to: LSN(1))
        let first = try #require(try reader.readFrames(upTo: LSN(100), maxBytes: 60))
        #expect(first.firstLSN == LSN(1))
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...100), lsn: LSN(100), epoch: .initial, lastRecordChecksum: nil, dataDirectory: log.directory.path)
        _ = try WALSegments.prune(dataDirectory: log.directory.path, coveredBy: LSN(100), retainBytes: 0, activeSegmentFirstLSN: log.writer.activeSegmentFirstLSN)
        var received = first.bytes
        var thrown: StorageError?
        do {
            while let batch = try reader.readFrames(upTo: LSN(100), maxBytes: 60) { received += batch.bytes }
        } catch let error as StorageError {
            thrown = error
        }
        #expect(thrown?.code == .walNotRetained)
        // Everything in the segment that was open was still delivered, and nothing else.
        #expect(reader.nextLSN == segments[1].firstLSN)
        #expect(received == (try expectedFrames(1...Int(segments[1].firstLSN.rawValue - 1))))
    }

    @Test func corruptFrame_throwsCorruptLog_namingFileAndOffset_andTheCursorStays() throws {
        let directory = try TemporaryDirectory()
        let written = try writeRecords(1...20, in: directory)
        let path = written.frameEnds[9].path
        let frameOffset = written.frameEnds[8].end  // the frame for LSN 10 starts where LSN 9 ends
        try corrupt(path, at: Int(frameOffset) + WALFormat.frameHeaderBytes + 2)
        let reader = WALReader(dataDirectory: directory.path)
        try reader.seek(to: LSN(1))
        let error = storageError { _ = try reader.readFrames(upTo: LSN(20), maxBytes: 1 << 20) }
        #expect(error?.code == .corruptLog)
        #expect(error?.path == path)
        #expect(error?.offset == frameOffset)
        #expect(reader.nextLSN == LSN(1))
        // Up to the damage the frames are still readable; the damaged one is never returned.
        let maxBytes = Int(frameOffset) - WALFormat.segmentHeaderBytes
        #expect(try reader.readFrames(upTo: LSN(20), maxBytes: maxBytes)?.lastLSN == LSN(9))
        #expect(storageError { _ = try reader.readFrames(upTo: LSN(20), maxBytes: 1 << 20) }?.offset == frameOffset)
        #expect(storageError { _ = try reader.recordChecksum(at: LSN(10)) }?.code == .corruptLog)
    }

    @Test func readFrames_pastTheEndOfTheLog_isRefused() throws {
        let log = try LiveLog()
        try log.write(1...5)
        let reader = log.reader
        try reader.seek(to: LSN(3))
        #expect(storageError { _ = try reader.readFrames(upTo: LSN(9), maxBytes: 1 << 20) }?.code == .invalidState)
        #expect(reader.nextLSN == LSN(3))
    }

    @Test func maxBytesAboveTheReadBlock_stillFillsTheBatch_withFramesLargerThanABlock() throws {
        let log = try LiveLog()
        let big: [Effect] = [.set(key: Array("big".utf8), value: [UInt8](repeating: 9, count: WALReader.readBlockBytes + 10), expireAtMilliseconds: nil)]
        try log.write(1...3)
        _ = try log.writer.append(epoch: .initial, effects: big)
        try log.writer.writePending()
        for index in 5...6 { _ = try log.writer.append(epoch: .initial, effects: testRecord(index)) }
        try log.writer.writePending()
        let reader = log.reader
        try reader.seek(to: LSN(1))
        let batch = try #require(try reader.readFrames(upTo: LSN(6), maxBytes: 4 << 20))
        #expect(batch.count == 6 && batch.bytes.count > WALReader.readBlockBytes)
        #expect(try WALFormat.decodeFrames(batch.bytes)[3].effects == big)
    }
}
