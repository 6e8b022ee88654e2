import Glibc
import Testing
import UnderstudyCore
@testable import UnderstudyStorage

/// Runs the writer's preparation job, if it wants one, on this thread.
private func prepare(_ writer: WALWriter) {
    guard let job = writer.makePreparationJob() else { return }
    writer.preparationFinished(Result { try job.run() })
}

/// Recovers `directory` and writes records `range` (LSN = index) one write each, with a
/// prepared segment ready before every write, then syncs and closes. Returns the writer's
/// counts and where the data of the last segment ends.
@discardableResult
private func writePreallocated(
    _ range: ClosedRange<Int>, in directory: TemporaryDirectory, segmentMaxBytes: Int64 = 64 << 10
) throws -> (prepared: Int, unprepared: Int, lastSegment: String, dataEnd: Int64) {
    let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory), configuration: .init(segmentMaxBytes: segmentMaxBytes))
    var dataEnd: Int64 = 0
    var segment = writer.activeSegmentFirstLSN
    for index in range {
        prepare(writer)
        #expect(try writer.append(epoch: .initial, effects: testRecord(index)) == LSN(UInt64(index)))
        let before = writer.totalBytesWritten
        try writer.writePending()
        // The first write after opening, and every rollover, starts a segment (its header
        // is counted in `totalBytesWritten`).
        let written = writer.totalBytesWritten - before
        if index == range.lowerBound || writer.activeSegmentFirstLSN != segment {
            segment = writer.activeSegmentFirstLSN
            dataEnd = written
        } else {
            dataEnd += written
        }
    }
    if let job = writer.makeSyncJob() { _ = try job.run() }
    writer.close()
    let path = directory.walDirectory + "/" + WALFormat.segmentName(firstLSN: segment)
    return (writer.preparedRollovers, writer.unpreparedRollovers, path, dataEnd)
}

/// Overwrites the zeros right after the records of `path` (which end at `end`) with `bytes`.
private func overwriteZeros(of path: String, at end: Int64, with bytes: [UInt8]) throws {
    var content = try fileBytes(path)
    content.replaceSubrange(Int(end)..<(Int(end) + bytes.count), with: bytes)
    try writeFile(path, content)
}

@Suite struct WALPreallocationTests {
    @Test func preparedSegments_areTakenAtRollover_atTheirFullSize_andRecoveryEndsAtTheZeroTail() throws {
        let directory = try TemporaryDirectory()
        let written = try writePreallocated(1...3_000, in: directory, segmentMaxBytes: 16 << 10)
        #expect(written.unprepared == 0)
        let segments = try WALSegments.list(dataDirectory: directory.path)
        #expect(segments.count >= 3 && written.prepared == segments.count)
        #expect(segments.allSatisfy { $0.bytes >= 16 << 10 }, "every segment is preallocated")
        #expect(FileIO.fileExists(directory.walDirectory + "/" + WALFormat.preparedName), "the next one is ready")
        let capture = LogCapture()
        let state = try recover(directory, capture)
        #expect(state.lastLSN == LSN(3_000))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...3_000).entries)
        #expect(state.statistics.truncatedBytes == 0)
        #expect(capture.messages(containing: "Cut").isEmpty, "a zero tail is the normal end, not damage")
        #expect(try FileIO.size(atPath: written.lastSegment) == 16 << 10, "nothing is cut")
        // A reopened writer starts a new segment after the old zero tail, which stays.
        try writePreallocated(3_001...3_010, in: directory, segmentMaxBytes: 16 << 10)
        #expect(try recover(directory).keyspace.entries == expectedKeyspace(records: 1...3_010).entries)
    }

    @Test func tornFrameInThePreallocatedTail_isCut_withOneWarning() throws {
        let directory = try TemporaryDirectory()
        let written = try writePreallocated(1...10, in: directory)
        let torn = try expectedFrames(11...11)
        let end = Int(written.dataEnd)
        try overwriteZeros(of: written.lastSegment, at: written.dataEnd, with: Array(torn.prefix(torn.count / 2)))
        let capture = LogCapture()
        let state = try recover(directory, capture)
        #expect(state.lastLSN == LSN(10))
        #expect(capture.messages(containing: "Cut torn WAL tail").count == 1)
        #expect(capture.messages(containing: "at offset \(end)").count == 1)
        #expect(try FileIO.size(atPath: written.lastSegment) == Int64(end))
        let again = LogCapture()
        #expect(try recover(directory, again).lastLSN == LSN(10))
        #expect(again.messages(containing: "Cut").isEmpty)
    }

    @Test func damagedFrameInsideAPreallocatedSegment_withValidFramesAfter_refuses() throws {
        let directory = try TemporaryDirectory()
        let written = try writePreallocated(1...10, in: directory)
        let firstFrame = try expectedFrames(1...1)
        try corrupt(written.lastSegment, at: WALFormat.segmentHeaderBytes + firstFrame.count + WALFormat.frameHeaderBytes)
        let error = storageError { _ = try recover(directory) }
        #expect(error?.code == .corruptLog)
        #expect(error?.offset == Int64(WALFormat.segmentHeaderBytes + firstFrame.count))
    }

    @Test func zeroedFramesInASealedPreallocatedSegment_areAGap_notAnEnd() throws {
        let directory = try TemporaryDirectory()
        try writePreallocated(1...2_000, in: directory, segmentMaxBytes: 16 << 10)
        let segments = try WALSegments.list(dataDirectory: directory.path)
        #expect(segments.count >= 3)
        // Zero everything after the first frame of a sealed segment: its data seems to end
        // early, but the next segment does not start where it ends.
        var bytes = try fileBytes(segments[1].path)
        let firstEnd = try bytes.withUnsafeBytes { WALFormat.parseFrame($0, at: WALFormat.segmentHeaderBytes) }.get().end
        bytes.replaceSubrange(firstEnd..., with: [UInt8](repeating: 0, count: bytes.count - firstEnd))
        try writeFile(segments[1].path, bytes)
        let error = storageError { _ = try recover(directory) }
        #expect(error?.code == .lsnGap)
        #expect(error?.path == segments[2].path)
    }

    @Test func staleFramesFromAnOlderLSNRange_afterTheEnd_areNeverReplayed() throws {
        let directory = try TemporaryDirectory()
        let written = try writePreallocated(1...10, in: directory)
        // What a recycled segment would hold past its new data: whole, checksum-valid
        // frames of LSNs the log has already passed.
        let end = Int(written.dataEnd)
        try overwriteZeros(of: written.lastSegment, at: written.dataEnd, with: try expectedFrames(3...6))
        let error = storageError { _ = try recover(directory) }
        #expect(error?.code == .lsnGap)
        #expect(error?.offset == Int64(end))
        let reader = WALReader(dataDirectory: directory.path)
        #expect(storageError { _ = try reader.lastLSN() }?.code == .corruptLog, "a reader walking past the end stops at them too")
    }

    @Test func rewindInsideAPreallocatedSegment_endsTheLogAtTheForkPoint() throws {
        let directory = try TemporaryDirectory()
        try writePreallocated(1...30, in: directory)
        let report = try WALRewind.cutSuffix(dataDirectory: directory.path, keepThrough: LSN(12), cutByEpoch: Epoch(2), nowUnixMilliseconds: 1_764_172_800_123)
        #expect(report.recordCount == 18 && report.firstLSN == LSN(13) && report.lastLSN == LSN(30))
        let capture = LogCapture()
        let state = try recover(directory, capture)
        #expect(state.lastLSN == LSN(12))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...12).entries)
        #expect(capture.messages(containing: "Cut").isEmpty)
        try writePreallocated(13...20, in: directory)
        #expect(try recover(directory).keyspace.entries == expectedKeyspace(records: 1...20).entries)
    }

    @Test func reader_acrossPreallocatedSegmentBoundaries_returnsTheFramesByteForByte() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory), configuration: .init(segmentMaxBytes: 4096))
        for index in 1...400 {
            prepare(writer)
            _ = try writer.append(epoch: .initial, effects: testRecord(index))
            if index % 7 == 0 { try writer.writePending() }
        }
        try writer.writePending()
        #expect(try WALSegments.list(dataDirectory: directory.path).count > 3)
        #expect(writer.preparedRollovers > 3)
        let reader = WALReader(dataDirectory: directory.path)
        for maxBytes in [1, 300, 5_000] {
            #expect(try readAll(reader, from: LSN(1), upTo: LSN(400), maxBytes: maxBytes).bytes == expectedFrames(1...400))
        }
        #expect(try readAll(reader, from: LSN(123), upTo: LSN(400), maxBytes: 1_000).bytes == expectedFrames(123...400))
        try reader.seek(to: LSN(401))  // the caught-up position, in front of the zeros
        #expect(try reader.readFrames(upTo: LSN(400), maxBytes: 100) == nil)
        #expect(try reader.recordChecksum(at: LSN(401)) == nil)
        #expect(try reader.lastLSN() == LSN(400))
        // The live writer keeps writing; the reader follows into the zeros it overwrites.
        for index in 401...420 { _ = try writer.append(epoch: .initial, effects: testRecord(index)) }
        try writer.writePending()
        #expect(try reader.readFrames(upTo: LSN(420), maxBytes: 1 << 20)?.bytes == expectedFrames(401...420))
        writer.close()
    }

    @Test func crashDuringPreparation_leftoverFilesAreRemovedByRecovery() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...5, in: directory)
        let temporary = directory.walDirectory + "/" + WALFormat.preparingName
        let ready = directory.walDirectory + "/" + WALFormat.preparedName
        try writeFile(temporary, [UInt8](repeating: 0, count: 1000))
        try writeFile(ready, WALFormat.segmentHeader(firstLSN: LSN(6)) + [UInt8](repeating: 0, count: 1000))
        let capture = LogCapture()
        let state = try recover(directory, capture)
        #expect(state.lastLSN == LSN(5))
        #expect(!FileIO.fileExists(temporary) && !FileIO.fileExists(ready))
        #expect(capture.messages(containing: "Removed unused prepared WAL segment").count == 2)
        #expect(try WALSegments.list(dataDirectory: directory.path).count == 1, "neither looked like a segment")
    }

    @Test func crashRightAfterAPreparedRollover_theEmptyPreallocatedSegmentIsReplaced() throws {
        let directory = try TemporaryDirectory()
        try writePreallocated(1...5, in: directory)
        // A rollover into a prepared file (header written, renamed), then a crash before
        // any record reached it.
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory), configuration: .init(segmentMaxBytes: 64 << 10))
        prepare(writer)
        try writer.openNextSegment()
        #expect(writer.preparedRollovers == 1)
        let empty = directory.walDirectory + "/" + WALFormat.segmentName(firstLSN: LSN(6))
        #expect(try FileIO.size(atPath: empty) == 64 << 10)
        let capture = LogCapture()
        #expect(try recover(directory, capture).lastLSN == LSN(5))
        #expect(capture.messages(containing: "Cut").isEmpty)
        try writePreallocated(6...9, in: directory)
        #expect(try recover(directory).keyspace.entries == expectedKeyspace(records: 1...9).entries)
        writer.close()
    }

    @Test func failedPreparation_theNextRolloverCreatesItsSegment_andIsCounted() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory), configuration: .init(segmentMaxBytes: 4096))
        #expect(writer.makePreparationJob() != nil)
        #expect(writer.makePreparationJob() == nil, "one at a time")
        writer.preparationFinished(.failure(StorageError(.io, "no space")))
        #expect(writer.makePreparationJob() == nil, "no retry before the next rollover")
        _ = try writer.append(epoch: .initial, effects: testRecord(1))
        try writer.writePending()
        #expect(writer.unpreparedRollovers == 1 && writer.preparedRollovers == 0)
        #expect(writer.makePreparationJob() != nil, "asked again after the rollover")
        writer.close()
        #expect(try recover(directory).lastLSN == LSN(1))
    }
}
