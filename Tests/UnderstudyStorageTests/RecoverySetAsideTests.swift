import Testing
import UnderstudyCore
@testable import UnderstudyStorage

/// Damage that is not a torn tail: reported by plain recovery, set aside (never deleted)
/// by a replicated node's recovery.
@Suite struct RecoverySetAsideTests {
    /// 60 records in segments of ~200 bytes; returns the segments, oldest first.
    private func damagedLog(_ directory: TemporaryDirectory) throws -> [WALSegmentInfo] {
        try writeRecords(1...60, in: directory, segmentMaxBytes: 200)
        let segments = try WALSegments.list(dataDirectory: directory.path).sorted { $0.firstLSN < $1.firstLSN }
        #expect(segments.count >= 4)
        let middle = segments[1]
        try corrupt(middle.path, at: Int(middle.bytes) / 2)
        return segments
    }

    @Test func crcDamageInAMiddleSegment_isReported_notCutSilently() throws {
        let directory = try TemporaryDirectory()
        let segments = try damagedLog(directory)
        let error = storageError { _ = try recover(directory) }
        #expect(error?.code == .corruptLog)
        #expect(error?.path == segments[1].path, "the error names the damaged file")
        #expect(try WALSegments.list(dataDirectory: directory.path).count == segments.count, "nothing was cut")
    }

    @Test func setAside_keepsThePrefix_andMovesTheDamagedSegmentAndLaterOnesAside() throws {
        let directory = try TemporaryDirectory()
        let segments = try damagedLog(directory)
        let capture = LogCapture()
        let state = try Recovery.recoverSettingAsideDamage(dataDirectory: directory.path, logger: capture.logger)
        #expect(state.lastLSN == LSN(segments[1].firstLSN.rawValue - 1), "the valid prefix before the damage")
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...Int(state.lastLSN.rawValue)).entries)
        let kept = try WALSegments.list(dataDirectory: directory.path).map(\.firstLSN)
        #expect(kept == [segments[0].firstLSN])
        let discarded = directory.path + "/discarded"
        let moved = try FileIO.listDirectory(discarded).flatMap { try FileIO.listDirectory(discarded + "/" + $0 + "/wal") }
        #expect(Set(moved) == Set(segments.dropFirst().map { WALFormat.segmentName(firstLSN: $0.firstLSN) }))
        #expect(!capture.messages(containing: "set aside").isEmpty)
    }

    @Test func anUndamagedLog_recoversAsPlainRecoveryDoes() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...20, in: directory, segmentMaxBytes: 200)
        let state = try Recovery.recoverSettingAsideDamage(dataDirectory: directory.path, logger: LogCapture().logger)
        #expect(state.lastLSN == LSN(20))
        #expect(!FileIO.fileExists(directory.path + "/discarded"))
    }
}
