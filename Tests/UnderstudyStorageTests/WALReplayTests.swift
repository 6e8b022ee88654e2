import Glibc
import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct WALReplayTests {
    @Test func manyRecords_acrossSegmentRollover_recoverInOrder() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...2_000, in: directory, segmentMaxBytes: 8 << 10)
        #expect(try WALSegments.list(dataDirectory: directory.path).count > 5)
        let capture = LogCapture()
        let state = try recover(directory, capture)
        #expect(state.lastLSN == LSN(2_000))
        #expect(state.statistics.recordsReplayed == 2_000)
        #expect(state.statistics.truncatedBytes == 0)
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...2_000).entries)
        #expect(capture.messages(containing: "Cut torn WAL tail").isEmpty)
    }

    @Test func tornTail_atEveryOffsetOfTheLastFrames_recoversTheLastCompleteRecord() throws {
        let directory = try TemporaryDirectory()
        let log = try writeRecords(1...12, in: directory)
        let path = log.frameEnds[0].path
        let original = try fileBytes(path)
        let frameEnds = log.frameEnds.map(\.end)
        for length in WALFormat.segmentHeaderBytes..<original.count {
            try writeFile(path, Array(original.prefix(length)))
            let capture = LogCapture()
            let state = try recover(directory, capture)
            let complete = frameEnds.filter { $0 <= Int64(length) }.count
            let lastEnd = complete == 0 ? Int64(WALFormat.segmentHeaderBytes) : frameEnds[complete - 1]
            #expect(state.lastLSN == LSN(UInt64(complete)), "length \(length)")
            #expect(state.keyspace.entries == expectedKeyspace(records: 1...max(1, complete)).entries || complete == 0)
            #expect(try FileIO.size(atPath: path) == lastEnd)
            let cuts = capture.messages(containing: "Cut torn WAL tail")
            if Int64(length) == lastEnd {
                #expect(cuts.isEmpty, "length \(length)")
            } else {
                #expect(cuts.count == 1, "length \(length)")
                #expect(cuts.first?.contains(path) == true)
                #expect(cuts.first?.contains("at offset \(lastEnd)") == true)
                #expect(cuts.first?.contains("removed \(Int64(length) - lastEnd) bytes") == true)
            }
        }
    }

    @Test func zeroFilledTail_isTheNormalEnd_andStays() throws {
        let directory = try TemporaryDirectory()
        let log = try writeRecords(1...5, in: directory)
        let path = log.frameEnds[0].path
        try writeFile(path, try fileBytes(path) + [UInt8](repeating: 0, count: 4096))
        let capture = LogCapture()
        let state = try recover(directory, capture)
        #expect(state.lastLSN == LSN(5))
        #expect(state.statistics.truncatedBytes == 0)
        #expect(capture.messages(containing: "Cut").isEmpty)
        #expect(try FileIO.size(atPath: path) == log.frameEnds[4].end + 4096)
    }

    @Test func zeroFilledTail_shorterThanAFrameHeader_isTheNormalEndToo() throws {
        // A preallocated segment whose last batch left less than a frame header free.
        let directory = try TemporaryDirectory()
        let log = try writeRecords(1...5, in: directory)
        let path = log.frameEnds[0].path
        try writeFile(path, try fileBytes(path) + [UInt8](repeating: 0, count: WALFormat.frameHeaderBytes - 1))
        try writeRecords(6...8, in: directory)  // a later segment: the zeros end a non-last one
        let capture = LogCapture()
        #expect(try recover(directory, capture).keyspace.entries == expectedKeyspace(records: 1...8).entries)
        #expect(capture.messages(containing: "Cut").isEmpty)
        #expect(try readAll(WALReader(dataDirectory: directory.path), from: LSN(1), upTo: LSN(8), maxBytes: 1 << 20).bytes == expectedFrames(1...8))
    }

    @Test func badChecksumInTheLastFrame_isCut() throws {
        let directory = try TemporaryDirectory()
        let log = try writeRecords(1...5, in: directory)
        let path = log.frameEnds[0].path
        try corrupt(path, at: Int(log.frameEnds[3].end) + WALFormat.frameHeaderBytes + 1)
        let capture = LogCapture()
        let state = try recover(directory, capture)
        #expect(state.lastLSN == LSN(4))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...4).entries)
        #expect(capture.messages(containing: "checksum mismatch").count == 1)
        // The cut is durable: a second recovery finds a clean log.
        let again = LogCapture()
        #expect(try recover(directory, again).lastLSN == LSN(4))
        #expect(again.messages(containing: "Cut torn WAL tail").isEmpty)
    }

    @Test func badChecksumMidLog_withAValidFrameAfter_refusesWithFileAndOffset() throws {
        let directory = try TemporaryDirectory()
        let log = try writeRecords(1...5, in: directory)
        let path = log.frameEnds[0].path
        let badOffset = log.frameEnds[1].end
        try corrupt(path, at: Int(badOffset) + WALFormat.frameHeaderBytes)
        let error = storageError { _ = try recover(directory) }
        #expect(error?.code == .corruptLog)
        #expect(error?.path == path)
        #expect(error?.offset == badOffset)
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("offset \(badOffset)") == true)
        #expect(try FileIO.size(atPath: path) == log.frameEnds[4].end, "nothing is cut")
    }

    @Test func corruptLengthMidLog_isNotMistakenForATornTail() throws {
        let directory = try TemporaryDirectory()
        let log = try writeRecords(1...5, in: directory)
        let path = log.frameEnds[0].path
        var bytes = try fileBytes(path)
        bytes[Int(log.frameEnds[1].end) + 3] = 0x7F  // length now points far past the end
        try writeFile(path, bytes)
        let error = storageError { _ = try recover(directory) }
        #expect(error?.code == .corruptLog)
        #expect(error?.offset == log.frameEnds[1].end)
    }

    @Test func corruptionInANonLastSegment_refuses() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...200, in: directory, segmentMaxBytes: 2048)
        let segments = try WALSegments.list(dataDirectory: directory.path)
        #expect(segments.count >= 3)
        let victim = segments[1]
        try writeFile(victim.path, Array(try fileBytes(victim.path).dropLast(3)))
        let error = storageError { _ = try recover(directory) }
        #expect(error?.code == .corruptLog)
        #expect(error?.path == victim.path)
        #expect(error?.offset != nil)
    }

    @Test func emptySegments_zeroBytesOrHeaderOnly_areFine() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...3, in: directory)
        let next = directory.walDirectory + "/" + WALFormat.segmentName(firstLSN: LSN(4))
        try writeFile(next, [])
        #expect(try recover(directory).lastLSN == LSN(3))
        try writeFile(next, WALFormat.segmentHeader(firstLSN: LSN(4)))
        let capture = LogCapture()
        #expect(try recover(directory, capture).lastLSN == LSN(3))
        #expect(capture.messages(containing: "Cut").isEmpty)
        try writeRecords(4...6, in: directory)
        #expect(try recover(directory).keyspace.entries == expectedKeyspace(records: 1...6).entries)
    }

    @Test func tornSegmentHeader_inTheLastSegment_isCut() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...3, in: directory)
        let next = directory.walDirectory + "/" + WALFormat.segmentName(firstLSN: LSN(4))
        try writeFile(next, Array(WALFormat.segmentHeader(firstLSN: LSN(4)).prefix(10)))
        let capture = LogCapture()
        #expect(try recover(directory, capture).lastLSN == LSN(3))
        #expect(capture.messages(containing: "torn segment header").count == 1)
        #expect(try FileIO.size(atPath: next) == 0)
    }

    @Test func lsnGapBetweenSegments_refuses() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...300, in: directory, segmentMaxBytes: 2048)
        let segments = try WALSegments.list(dataDirectory: directory.path)
        #expect(segments.count >= 3)
        try FileIO.remove(segments[1].path)
        let error = storageError { _ = try recover(directory) }
        #expect(error?.code == .lsnGap)
        #expect(error?.path == segments[2].path)
        #expect(error?.offset == 0)
    }

    @Test func lsnGapInsideASegment_refusesWithOffset() throws {
        let directory = try TemporaryDirectory()
        let log = try writeRecords(1...4, in: directory)
        let path = log.frameEnds[0].path
        var bytes = try fileBytes(path)
        // Remove frame 2 entirely: frame 3 then follows frame 1.
        bytes.removeSubrange(Int(log.frameEnds[0].end)..<Int(log.frameEnds[1].end))
        try writeFile(path, bytes)
        let error = storageError { _ = try recover(directory) }
        #expect(error?.code == .lsnGap)
        #expect(error?.offset == log.frameEnds[0].end)
    }

    @Test func walStartingAfterLSN1_withoutSnapshot_refuses() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...300, in: directory, segmentMaxBytes: 2048)
        let first = try #require(try WALSegments.list(dataDirectory: directory.path).first)
        try FileIO.remove(first.path)
        #expect(storageError { _ = try recover(directory) }?.code == .lsnGap)
    }

    @Test func findValidFrame_skipsGarbage_andFindsALaterFrame() throws {
        var bytes = [UInt8](repeating: 0xAB, count: 100)
        try WALFormat.appendFrame(epoch: .initial, lsn: LSN(8), effects: [.flushAll], to: &bytes)
        let found = bytes.withUnsafeBytes { WALReplay.findValidFrame($0, after: 0, lastGood: LSN(6)) }
        #expect(found?.offset == 100 && found?.lsn == LSN(8))
        let stale = bytes.withUnsafeBytes { WALReplay.findValidFrame($0, after: 0, lastGood: LSN(8)) }
        #expect(stale == nil)
    }
}
