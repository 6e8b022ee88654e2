import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct WALSegmentsTests {
    /// Writes 300 records in ~1 KiB segments and leaves the writer open (active segment).
    private func makeLog(_ directory: TemporaryDirectory) throws -> WALWriter {
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory), configuration: .init(segmentMaxBytes: 1024))
        for index in 1...300 {
            _ = try writer.append(epoch: .initial, effects: testRecord(index))
            try writer.writePending()
        }
        return writer
    }

    @Test func prune_removesOnlySegmentsWhollyCovered_oldestFirst() throws {
        let directory = try TemporaryDirectory()
        let writer = try makeLog(directory)
        let before = try WALSegments.list(dataDirectory: directory.path)
        let removed = try WALSegments.prune(dataDirectory: directory.path, coveredBy: LSN(150), retainBytes: 0, activeSegmentFirstLSN: writer.activeSegmentFirstLSN)
        let after = try WALSegments.list(dataDirectory: directory.path)
        #expect(!removed.isEmpty)
        #expect(removed == before.prefix(removed.count).map(\.path))
        // The first remaining segment still holds LSN 151.
        #expect(after[0].firstLSN <= LSN(151))
        #expect(after.count == 1 || after[1].firstLSN > LSN(151))
    }

    @Test func prune_keepsTheNewestRetainBytesOfCoveredSegments() throws {
        let directory = try TemporaryDirectory()
        let writer = try makeLog(directory)
        let before = try WALSegments.list(dataDirectory: directory.path)
        let covered = before.dropLast().count
        let removed = try WALSegments.prune(dataDirectory: directory.path, coveredBy: LSN(300), retainBytes: 2500, activeSegmentFirstLSN: writer.activeSegmentFirstLSN)
        let after = try WALSegments.list(dataDirectory: directory.path)
        let keptCovered = after.dropLast()
        #expect(keptCovered.reduce(0) { $0 + $1.bytes } >= 2500)
        #expect(keptCovered.dropFirst().reduce(0) { $0 + $1.bytes } < 2500, "keeps no more than needed")
        #expect(removed.count + keptCovered.count == covered)
    }

    @Test func prune_neverRemovesTheActiveSegment() throws {
        let directory = try TemporaryDirectory()
        let writer = try makeLog(directory)
        let active = writer.activeSegmentFirstLSN
        _ = try WALSegments.prune(dataDirectory: directory.path, coveredBy: LSN(10_000), retainBytes: 0, activeSegmentFirstLSN: active)
        let after = try WALSegments.list(dataDirectory: directory.path)
        #expect(after.map(\.firstLSN) == [active])
        // The writer carries on, and the pruned log still recovers with a snapshot.
        _ = try writer.append(epoch: .initial, effects: testRecord(301))
        try writer.writePending()
        _ = try writer.makeSyncJob()?.run()
        writer.close()
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...300), lsn: LSN(300), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        #expect(try recover(directory).keyspace.entries == expectedKeyspace(records: 1...301).entries)
    }

    @Test func prune_withNothingCovered_removesNothing() throws {
        let directory = try TemporaryDirectory()
        let writer = try makeLog(directory)
        #expect(try WALSegments.prune(dataDirectory: directory.path, coveredBy: .zero, retainBytes: 0, activeSegmentFirstLSN: writer.activeSegmentFirstLSN).isEmpty)
    }
}
