import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct RecoveryTests {
    @Test func freshDirectory_recoversEmpty_andCreatesLayout() throws {
        let directory = try TemporaryDirectory()
        let state = try recover(directory)
        #expect(state.lastLSN == .zero && state.snapshotLSN == .zero && state.lastEpoch == .initial)
        #expect(FileIO.fileExists(directory.walDirectory) && FileIO.fileExists(directory.snapshotDirectory))
    }

    @Test func snapshotPlusWALReplay_equalsTheFullState() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...300, in: directory, segmentMaxBytes: 2048)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...180), lsn: LSN(180), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        try writeRecords(301...400, in: directory, segmentMaxBytes: 2048, epoch: Epoch(2))
        let state = try recover(directory)
        #expect(state.snapshotLSN == LSN(180))
        #expect(state.lastLSN == LSN(400))
        #expect(state.lastEpoch == Epoch(2))
        #expect(state.statistics.recordsReplayed == 220)
        #expect(state.statistics.segmentsScanned < (try WALSegments.list(dataDirectory: directory.path).count))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...400).entries)
    }

    @Test func snapshotOnly_afterTheWALWasPruned() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory), configuration: .init(segmentMaxBytes: 1024))
        for index in 1...100 {
            _ = try writer.append(epoch: .initial, effects: testRecord(index))
            try writer.writePending()
        }
        _ = try writer.makeSyncJob()?.run()
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...100), lsn: LSN(100), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let removed = try WALSegments.prune(dataDirectory: directory.path, coveredBy: LSN(100), retainBytes: 0, activeSegmentFirstLSN: writer.activeSegmentFirstLSN)
        #expect(!removed.isEmpty)
        writer.close()
        let state = try recover(directory)
        #expect(state.lastLSN == LSN(100))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...100).entries)
    }

    @Test func corruptNewestSnapshot_fallsBackToTheOlderOne() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...100, in: directory)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...40), lsn: LSN(40), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let newest = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...80), lsn: LSN(80), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        try corrupt(newest.path, at: Int(newest.fileBytes) / 2)
        let capture = LogCapture()
        let state = try recover(directory, capture)
        #expect(state.snapshotLSN == LSN(40))
        #expect(state.statistics.snapshotsRejected == 1)
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...100).entries)
        #expect(capture.messages(containing: newest.path).count == 1)
    }

    @Test func everySnapshotCorrupt_fallsBackToTheWALAlone() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...50, in: directory)
        let snapshot = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...30), lsn: LSN(30), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        try corrupt(snapshot.path, at: 3)
        let capture = LogCapture()
        let state = try recover(directory, capture)
        #expect(state.snapshotLSN == .zero)
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...50).entries)
        #expect(capture.messages(containing: "falling back to the WAL alone").count == 1)
    }

    @Test func leftoverTemporarySnapshot_isRemoved() throws {
        let directory = try TemporaryDirectory()
        _ = try recover(directory)
        let temporary = directory.snapshotDirectory + "/" + SnapshotFormat.fileName(lsn: LSN(9)) + ".tmp"
        try writeFile(temporary, [1, 2, 3])
        _ = try recover(directory)
        #expect(!FileIO.fileExists(temporary))
    }
}
