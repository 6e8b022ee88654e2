import Foundation
import Glibc
import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct WALRewindTests {
    private let now: Int64 = 1_764_172_800_123
    /// The records of the tests' logs are in epoch 1; the new primary's epoch is above it.
    private let newEpoch = Epoch(2)

    private func rewind(_ directory: TemporaryDirectory, keepThrough: UInt64, at time: Int64? = nil) throws -> RewindReport {
        try WALRewind.cutSuffix(dataDirectory: directory.path, keepThrough: LSN(keepThrough), cutByEpoch: newEpoch, nowUnixMilliseconds: time ?? now)
    }

    private func lostWritesPath(_ directory: TemporaryDirectory, _ first: UInt64, _ last: UInt64, at time: Int64? = nil) -> String {
        StorageLayout.lostWritesDirectory(directory.path) + "/\(time ?? now)-lsn-\(first)-\(last).jsonl"
    }

    /// The lines of a JSON Lines file, each parsed as an object.
    private func jsonLines(_ path: String?) throws -> [[String: Any]] {
        let bytes = try fileBytes(try #require(path))
        #expect(bytes.last == UInt8(ascii: "\n"))
        return try bytes.split(separator: UInt8(ascii: "\n")).map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        }
    }

    /// The LSNs of the record lines of a lost-writes file (the header line skipped).
    private func recordLSNs(_ path: String?) throws -> [Int] {
        try jsonLines(path).dropFirst().map { try #require($0["lsn"] as? Int) }
    }

    /// Every file under the data directory, recursively, with its bytes.
    private func contents(_ path: String) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for name in try FileIO.listDirectory(path) where name != "LOCK" {
            let child = path + "/" + name
            var info = stat()
            guard stat(child, &info) == 0 else { throw FileIO.error("stat", path: child, errno: errno) }
            if info.st_mode & S_IFMT == S_IFDIR {
                files.merge(try contents(child)) { first, _ in first }
            } else {
                files[child] = try fileBytes(child)
            }
        }
        return files
    }

    private func fileName(_ path: String) -> String {
        String(path.split(separator: "/").last ?? "")
    }

    // MARK: - Cutting

    @Test func cutInTheMiddleOfASegment_savesTheSuffix_andTruncatesRightAfterTheForkPoint() throws {
        let directory = try TemporaryDirectory()
        let log = try writeRecords(1...50, in: directory)
        #expect(try WALSegments.list(dataDirectory: directory.path).count == 1)

        let report = try rewind(directory, keepThrough: 30)

        #expect(report == RewindReport(recordCount: 20, firstLSN: LSN(31), lastLSN: LSN(50), path: lostWritesPath(directory, 31, 50)))
        #expect(try FileIO.size(atPath: log.frameEnds[29].path) == log.frameEnds[29].end)
        #expect(try recordLSNs(report.path) == Array(31...50))
        let state = try recover(directory)
        #expect(state.lastLSN == LSN(30))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...30).entries)

        try writeRecords(31...35, in: directory)  // the writer continues at LSN 31
        #expect(try recover(directory).keyspace.entries == expectedKeyspace(records: 1...35).entries)
    }

    @Test func cutAcrossSegments_truncatesTheHolder_andMovesLaterSegmentsAsideWhole() throws {
        let directory = try TemporaryDirectory()
        let log = try writeRecords(1...300, in: directory, segmentMaxBytes: 1024)
        let segments = try WALSegments.list(dataDirectory: directory.path)
        try #require(segments.count >= 6)
        let keepThrough = segments[2].firstLSN.rawValue + 2
        try #require(keepThrough < segments[3].firstLSN.rawValue - 1, "the fork point is inside the segment")
        let before = try contents(directory.path)

        let report = try rewind(directory, keepThrough: keepThrough)

        #expect(report.recordCount == 300 - Int(keepThrough))
        #expect(report.firstLSN == LSN(keepThrough + 1) && report.lastLSN == LSN(300) && !report.stateReset)
        #expect(try recordLSNs(report.path) == Array(Int(keepThrough) + 1...300))
        #expect(try WALSegments.list(dataDirectory: directory.path).map(\.firstLSN) == segments.prefix(3).map(\.firstLSN))
        #expect(try FileIO.size(atPath: segments[2].path) == log.frameEnds[Int(keepThrough) - 1].end)
        let discarded = try #require(report.discardedPath)
        #expect(discarded.hasPrefix(directory.path + "/discarded/"))
        for segment in segments.dropFirst(3) {
            #expect(try fileBytes(discarded + "/wal/" + fileName(segment.path)) == before[segment.path])
        }
        let state = try recover(directory)
        #expect(state.lastLSN == LSN(keepThrough))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...Int(keepThrough)).entries)

        let next = Int(keepThrough) + 1
        try writeRecords(next...next + 30, in: directory, segmentMaxBytes: 1024)
        #expect(try recover(directory).keyspace.entries == expectedKeyspace(records: 1...next + 30).entries)
    }

    @Test func forkPointAtTheEndOfASegment_leavesThatSegmentWhole() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...200, in: directory, segmentMaxBytes: 1024)
        let segments = try WALSegments.list(dataDirectory: directory.path)
        try #require(segments.count >= 4)
        let keepThrough = segments[2].firstLSN.rawValue - 1
        let holderBytes = try fileBytes(segments[1].path)

        let report = try rewind(directory, keepThrough: keepThrough)

        #expect(report.firstLSN == LSN(keepThrough + 1) && report.recordCount == 200 - Int(keepThrough))
        #expect(try fileBytes(segments[1].path) == holderBytes)
        #expect(try WALSegments.list(dataDirectory: directory.path).map(\.path) == segments.prefix(2).map(\.path))
        #expect(try recover(directory).lastLSN == LSN(keepThrough))
    }

    @Test func forkPointAtTheLastRecord_cutsNothing_andWritesNoFile() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...40, in: directory, segmentMaxBytes: 1024)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...20), lsn: LSN(20), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let before = try contents(directory.path)

        let report = try rewind(directory, keepThrough: 40)

        #expect(report == RewindReport())
        #expect(try contents(directory.path) == before)
        #expect(!FileIO.fileExists(StorageLayout.lostWritesDirectory(directory.path)))
        #expect(!FileIO.fileExists(directory.path + "/discarded"))
    }

    @Test func forkPointZero_cutsEveryRecord_andSetsEverySnapshotAside() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...40, in: directory, segmentMaxBytes: 1024)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...20), lsn: LSN(20), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)

        let report = try rewind(directory, keepThrough: 0)

        #expect(report.recordCount == 40 && report.firstLSN == LSN(1) && report.lastLSN == LSN(40))
        #expect(!report.stateReset, "an empty state is the state through LSN 0")
        #expect(try recordLSNs(report.path) == Array(1...40))
        #expect(try WALSegments.list(dataDirectory: directory.path).isEmpty)
        #expect(try SnapshotFormat.list(dataDirectory: directory.path).isEmpty)
        let discarded = try #require(report.discardedPath)
        #expect(FileIO.fileExists(discarded + "/snapshots/" + SnapshotFormat.fileName(lsn: LSN(20))))
        let state = try recover(directory)
        #expect(state.lastLSN == .zero && state.keyspace.count == 0)

        try writeRecords(1...5, in: directory)
        #expect(try recover(directory).lastLSN == LSN(5))
    }

    // MARK: - Snapshots

    @Test func snapshotNewerThanTheForkPoint_isSetAside_andRecoveryUsesTheOlderOnePlusTheWAL() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...200, in: directory, segmentMaxBytes: 2048)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...60), lsn: LSN(60), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let divergent = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...150), lsn: LSN(150), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let divergentBytes = try fileBytes(divergent.path)

        let report = try rewind(directory, keepThrough: 120)

        #expect(report.recordCount == 80 && report.firstLSN == LSN(121) && !report.stateReset)
        #expect(report.snapshotOnlyLSNs == nil, "the WAL still holds every cut record")
        #expect(try SnapshotFormat.list(dataDirectory: directory.path).map(\.lsn) == [LSN(60)])
        let discarded = try #require(report.discardedPath)
        #expect(try fileBytes(discarded + "/snapshots/" + SnapshotFormat.fileName(lsn: LSN(150))) == divergentBytes)
        let state = try recover(directory)
        #expect(state.snapshotLSN == LSN(60) && state.lastLSN == LSN(120))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...120).entries)
    }

    /// Records 1...300 in ~1 KiB segments, snapshots at 50 and 280, the WAL pruned behind
    /// the one at 280. Returns the first LSN of the oldest remaining segment.
    private func logPrunedBehindASnapshot(_ directory: TemporaryDirectory) throws -> UInt64 {
        try writeRecords(1...300, in: directory, segmentMaxBytes: 1024)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...50), lsn: LSN(50), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...280), lsn: LSN(280), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let removed = try WALSegments.prune(dataDirectory: directory.path, coveredBy: LSN(280), retainBytes: 0, activeSegmentFirstLSN: LSN(UInt64.max))
        try #require(!removed.isEmpty)
        return try #require(try WALSegments.list(dataDirectory: directory.path).first).firstLSN.rawValue
    }

    @Test func walPrunedBehindADivergentSnapshot_resetsTheState_andSavesOnlyTheRecordsAfterTheForkPoint() throws {
        let directory = try TemporaryDirectory()
        let oldest = try logPrunedBehindASnapshot(directory)
        try #require(oldest > 51 && oldest < 279)
        let keepThrough = oldest + 1  // in the WAL, but the WAL does not reach back to snapshot 50
        let before = try contents(directory.path)

        let report = try rewind(directory, keepThrough: keepThrough)

        #expect(report.stateReset)
        #expect(report.recordCount == 300 - Int(keepThrough) && report.firstLSN == LSN(keepThrough + 1))
        #expect(try recordLSNs(report.path) == Array(Int(keepThrough) + 1...300), "records up to the fork point are not lost")
        #expect(report.snapshotOnlyLSNs == nil)
        #expect(try FileIO.listDirectory(directory.walDirectory).isEmpty)
        #expect(try SnapshotFormat.list(dataDirectory: directory.path).isEmpty)
        let discarded = try #require(report.discardedPath)
        for (path, bytes) in before {
            let moved = discarded + path.dropFirst(directory.path.count)
            #expect(try fileBytes(moved) == bytes, "\(path) was moved aside whole")
        }
        let state = try recover(directory)
        #expect(state.lastLSN == .zero && state.keyspace.count == 0)
    }

    @Test func cutRecordsPrunedFromTheWAL_areReportedAsSnapshotOnly() throws {
        let directory = try TemporaryDirectory()
        let oldest = try logPrunedBehindASnapshot(directory)
        try #require(oldest > 201)

        let report = try rewind(directory, keepThrough: 200)

        #expect(report.stateReset)
        #expect(report.snapshotOnlyLSNs == LSN(201)...LSN(oldest - 1))
        #expect(report.firstLSN == LSN(oldest) && report.lastLSN == LSN(300))
        let header = try #require(try jsonLines(report.path).first)
        #expect(header["snapshotOnlyLSNs"] as? [Int] == [201, Int(oldest) - 1])
        #expect(header["keptThroughLSN"] as? Int == 200)
    }

    // MARK: - The lost-writes file

    @Test func lostWritesFile_holdsEveryFieldOfEveryEffect_asJSON() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory))
        let awkwardKey = Array("quote\" back\\slash\nnew\u{1}line\té€😀".utf8)
        let notUTF8: [UInt8] = [0xFF, 0x00, 0xC3]
        _ = try writer.append(epoch: .initial, effects: [.set(key: Array("kept".utf8), value: Array("1".utf8), expireAtMilliseconds: nil)])
        _ = try writer.append(epoch: Epoch(2), effects: [
            .set(key: awkwardKey, value: notUTF8, expireAtMilliseconds: 1_700_000_000_123),
            .set(key: Array("plain".utf8), value: [], expireAtMilliseconds: nil),
            .delete(key: Array("gone".utf8)),
            .setExpiry(key: Array("k".utf8), expireAtMilliseconds: 42),
            .setExpiry(key: Array("k".utf8), expireAtMilliseconds: nil),
        ])
        _ = try writer.append(epoch: Epoch(2), effects: [
            .rename(from: Array("a".utf8), to: Array("b".utf8)),
            .flushAll,
            .append(key: Array("a".utf8), suffix: [0x80]),
            .setRange(key: Array("r".utf8), offset: 7, bytes: Array("xy".utf8)),
        ])
        try writer.writePending()
        _ = try writer.makeSyncJob()?.run()
        writer.close()

        let report = try WALRewind.cutSuffix(dataDirectory: directory.path, keepThrough: LSN(1), cutByEpoch: Epoch(3), nowUnixMilliseconds: now)

        let path = try #require(report.path)
        #expect(path == lostWritesPath(directory, 2, 3))
        let lines = try jsonLines(path)
        try #require(lines.count == 3)
        let header = lines[0]
        #expect(header["format"] as? String == "understudy-lost-writes" && header["version"] as? Int == 1)
        #expect(header["cutAtUnixMilliseconds"] as? Int == Int(now) && header["cutByEpoch"] as? Int == 3)
        #expect(header["keptThroughLSN"] as? Int == 1 && header["recordCount"] as? Int == 2)
        #expect(header["firstLSN"] as? Int == 2 && header["lastLSN"] as? Int == 3)
        #expect(header["snapshotOnlyLSNs"] is NSNull)

        #expect(lines[1]["lsn"] as? Int == 2 && lines[1]["epoch"] as? Int == 2)
        let first = try #require(lines[1]["effects"] as? [[String: Any]])
        try #require(first.count == 5)
        #expect(first.map { $0["op"] as? String } == ["set", "set", "delete", "setExpiry", "setExpiry"])
        #expect(first[0]["key"] as? String == String(decoding: awkwardKey, as: UTF8.self))
        let base64 = try #require((first[0]["value"] as? [String: String])?["base64"])
        #expect(Data(base64Encoded: base64) == Data(notUTF8))
        #expect(first[0]["expireAtMilliseconds"] as? Int == 1_700_000_000_123)
        #expect(first[1]["value"] as? String == "" && first[1]["expireAtMilliseconds"] is NSNull)
        #expect(first[2]["key"] as? String == "gone" && first[2].count == 2)
        #expect(first[3]["expireAtMilliseconds"] as? Int == 42 && first[4]["expireAtMilliseconds"] is NSNull)

        #expect(lines[2]["lsn"] as? Int == 3)
        let second = try #require(lines[2]["effects"] as? [[String: Any]])
        try #require(second.count == 4)
        #expect(second[0]["from"] as? String == "a" && second[0]["to"] as? String == "b")
        #expect(second[1]["op"] as? String == "flushAll" && second[1].count == 1)
        #expect(second[2]["op"] as? String == "append")
        #expect((second[2]["suffix"] as? [String: String])?["base64"] == "gA==")
        #expect(second[3]["op"] as? String == "setRange" && second[3]["offset"] as? Int == 7 && second[3]["bytes"] as? String == "xy")

        // Control characters are escaped, never written raw.
        let raw = try fileBytes(path)
        #expect(!raw.contains(0x01) && !raw.contains(0x09))
        #expect(String(decoding: raw, as: UTF8.self).contains("new\\u0001line\\t"))
    }

    @Test func recordInTheCuttingEpoch_isRefused_andNothingChanges() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...30, in: directory, epoch: Epoch(2))
        let before = try contents(directory.path)

        let error = storageError { _ = try rewind(directory, keepThrough: 10) }

        #expect(error?.code == .invalidState)
        #expect(error?.message.contains("LSN 11") == true)
        #expect(try contents(directory.path) == before)
        #expect(try FileIO.listDirectory(StorageLayout.lostWritesDirectory(directory.path)).isEmpty, "the temporary file is removed")
    }

    // MARK: - Reruns

    @Test func rerunAfterSuccess_cutsNothingMore() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...100, in: directory, segmentMaxBytes: 1024)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...80), lsn: LSN(80), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let first = try rewind(directory, keepThrough: 50)
        #expect(first.recordCount == 50 && first.discardedPath != nil)
        let after = try contents(directory.path)

        let second = try rewind(directory, keepThrough: 50)

        #expect(second == RewindReport())
        #expect(try contents(directory.path) == after)
        #expect(try recover(directory).lastLSN == LSN(50))
    }

    @Test func rerunAfterACrashBetweenTheFileAndTheCut_keepsTheFile_andFinishesTheJob() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...100, in: directory, segmentMaxBytes: 1024)
        let plan = try WALRewindPlan(dataDirectory: directory.path, keepThrough: LSN(60))
        let saved = try WALRewind.saveLostWrites(plan, dataDirectory: directory.path, cutByEpoch: newEpoch, nowUnixMilliseconds: now)
        let path = try #require(saved.path)
        let savedBytes = try fileBytes(path)
        #expect(try recover(directory).lastLSN == LSN(100), "the WAL is untouched until the file is durable")

        let sameTime = try rewind(directory, keepThrough: 60)
        #expect(sameTime.path == path && sameTime.recordCount == 40)
        #expect(try fileBytes(path) == savedBytes)
        #expect(try FileIO.listDirectory(StorageLayout.lostWritesDirectory(directory.path)) == [fileName(path)])
        #expect(try recover(directory).lastLSN == LSN(60))
    }

    @Test func rerunAfterACrashWhileSegmentsWereMovedAside_writesTheRestToASecondFile() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...300, in: directory, segmentMaxBytes: 1024)
        let segments = try WALSegments.list(dataDirectory: directory.path)
        try #require(segments.count >= 5)
        let keepThrough = segments[1].firstLSN.rawValue + 1
        let plan = try WALRewindPlan(dataDirectory: directory.path, keepThrough: LSN(keepThrough))
        let saved = try WALRewind.saveLostWrites(plan, dataDirectory: directory.path, cutByEpoch: newEpoch, nowUnixMilliseconds: now)
        // The crash: only the two newest segments went aside.
        _ = try DiscardedLog.moveAside(segments: Array(segments.suffix(2)), snapshots: [], dataDirectory: directory.path, nowUnixMilliseconds: now)
        let remainingLast = segments[segments.count - 2].firstLSN.rawValue - 1
        #expect(try recover(directory).lastLSN == LSN(remainingLast), "a crash leaves a contiguous prefix")

        let rerun = try rewind(directory, keepThrough: keepThrough, at: now + 1)

        #expect(rerun.firstLSN == LSN(keepThrough + 1) && rerun.lastLSN == LSN(remainingLast))
        #expect(rerun.path == lostWritesPath(directory, keepThrough + 1, remainingLast, at: now + 1))
        #expect(try recordLSNs(saved.path) == Array(Int(keepThrough) + 1...300), "the first file stays")
        #expect(try recordLSNs(rerun.path) == Array(Int(keepThrough) + 1...Int(remainingLast)))
        #expect(try recover(directory).lastLSN == LSN(keepThrough))
    }

    @Test func crashAfterTheSegmentsWentAside_beforeTheSnapshots_stillRecovers_andTheRerunFinishes() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...200, in: directory, segmentMaxBytes: 1024)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...60), lsn: LSN(60), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...150), lsn: LSN(150), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let plan = try WALRewindPlan(dataDirectory: directory.path, keepThrough: LSN(120))
        try #require(!plan.laterSegments.isEmpty && plan.divergentSnapshots.count == 1)
        _ = try WALRewind.saveLostWrites(plan, dataDirectory: directory.path, cutByEpoch: newEpoch, nowUnixMilliseconds: now)
        _ = try DiscardedLog.moveAside(segments: plan.laterSegments, snapshots: [], dataDirectory: directory.path, nowUnixMilliseconds: now)

        let between = try recover(directory)
        #expect(between.lastLSN == LSN(150), "the node's own snapshot, with the log ending before it")
        #expect(between.keyspace.entries == expectedKeyspace(records: 1...150).entries)

        let rerun = try rewind(directory, keepThrough: 120)
        #expect(try SnapshotFormat.list(dataDirectory: directory.path).map(\.lsn) == [LSN(60)])
        #expect(rerun.firstLSN == LSN(121) && !rerun.stateReset)
        let state = try recover(directory)
        #expect(state.lastLSN == LSN(120))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...120).entries)
    }

    @Test func rerunAfterAReset_reportsTheResetAgain_andMovesNothing() throws {
        let directory = try TemporaryDirectory()
        let oldest = try logPrunedBehindASnapshot(directory)
        #expect(try rewind(directory, keepThrough: oldest + 1).stateReset)

        let rerun = try rewind(directory, keepThrough: oldest + 1)

        #expect(rerun == RewindReport(stateReset: true))
        #expect(try recover(directory).lastLSN == .zero)
    }
}
