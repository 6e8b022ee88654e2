import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct RecoveryChecksumTests {
    private func checksum(of lsn: Int) throws -> UInt32 {
        try WALFormat.decodeFrames(try expectedFrames(lsn...lsn))[0].checksum
    }

    @Test func recoveredState_carriesTheLastFramesChecksum() throws {
        let directory = try TemporaryDirectory()
        #expect(try recover(directory).lastRecordChecksum == nil)
        try writeRecords(1...20, in: directory, segmentMaxBytes: 256)
        let state = try recover(directory)
        #expect(state.lastRecordChecksum == (try checksum(of: 20)))
        let writer = try WALWriter.open(dataDirectory: directory.path, after: state)
        #expect(writer.lastRecordChecksum == (try checksum(of: 20)))
        writer.close()
    }

    @Test func stateEndingAtASnapshot_looksTheRecordUpInASkippedSegment() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...100, in: directory, segmentMaxBytes: 256)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...100), lsn: LSN(100), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        // An empty last segment (a crash right after creating it) makes replay skip the
        // segment holding LSN 100.
        try writeFile(directory.walDirectory + "/" + WALFormat.segmentName(firstLSN: LSN(101)), [])
        let state = try recover(directory)
        #expect(state.lastLSN == LSN(100) && state.statistics.recordsReplayed == 0)
        #expect(state.lastRecordChecksum == (try checksum(of: 100)))
    }

    @Test func stateEndingAtASnapshotWithoutItsRecord_hasNoChecksum() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...10, in: directory)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...15), lsn: LSN(15), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let state = try recover(directory)
        #expect(state.lastLSN == LSN(15) && state.lastRecordChecksum == nil)
    }
}
