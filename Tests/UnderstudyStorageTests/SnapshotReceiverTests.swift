import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct SnapshotReceiverTests {
    /// A primary with a snapshot at LSN 250 of records 1...300.
    private func primaryWithSnapshot() throws -> (directory: TemporaryDirectory, snapshot: SnapshotInfo) {
        let directory = try TemporaryDirectory()
        try writeRecords(1...300, in: directory, segmentMaxBytes: 2048)
        let checksum: UInt32 = try #require(try WALReader(dataDirectory: directory.path).recordChecksum(at: LSN(250)))
        let snapshot = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...250), lsn: LSN(250), epoch: .initial,
                                                lastRecordChecksum: checksum, dataDirectory: directory.path)
        return (directory, snapshot)
    }

    /// A standby with its own log (records 1...40) and a snapshot at LSN 30.
    private func standbyWithHistory() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try writeRecords(1...40, in: directory, segmentMaxBytes: 1024)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...30), lsn: LSN(30), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        return directory
    }

    /// Every file under the data directory (except LOCK) with its bytes.
    private func contents(_ directory: TemporaryDirectory) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for sub in [directory.walDirectory, directory.snapshotDirectory] where FileIO.fileExists(sub) {
            for name in try FileIO.listDirectory(sub) { files[sub + "/" + name] = try fileBytes(sub + "/" + name) }
        }
        return files
    }

    @Test func sendReceiveInstall_thenRecover_equalsTheSourceKeyspace_andTheWriterContinues() throws {
        let primary = try primaryWithSnapshot()
        let standby = try standbyWithHistory()
        let oldSegments = try WALSegments.list(dataDirectory: standby.path)
        let oldFiles = try contents(standby)

        let sender = try #require(try SnapshotSender.newest(dataDirectory: primary.directory.path))
        let receiver = try SnapshotReceiver(dataDirectory: standby.path, expectedLSN: sender.info.lsn, totalBytes: sender.totalBytes)
        while let chunk = try sender.nextChunk(maxBytes: 1000) { try receiver.receive(chunk) }
        let capture = LogCapture()
        let installed = try receiver.finish(expectedChecksum: try #require(sender.checksum), logger: capture.logger)

        #expect(installed.state.lastLSN == LSN(250) && installed.state.snapshotLSN == LSN(250))
        #expect(installed.state.lastRecordChecksum == primary.snapshot.lastRecordChecksum,
                "the snapshot's header carries the checksum of its last record (issue 9, item 12)")
        #expect(primary.snapshot.lastRecordChecksum == (try WALFormat.decodeFrames(try expectedFrames(250...250)))[0].checksum)
        #expect(installed.state.keyspace.entries == expectedKeyspace(records: 1...250).entries)
        let installedPath = standby.snapshotDirectory + "/" + SnapshotFormat.fileName(lsn: LSN(250))
        #expect(try fileBytes(installedPath) == (try fileBytes(primary.snapshot.path)))
        #expect(try FileIO.listDirectory(standby.snapshotDirectory) == [SnapshotFormat.fileName(lsn: LSN(250))])
        #expect(try FileIO.listDirectory(standby.walDirectory).isEmpty)

        // The old log and snapshot were moved, byte for byte, and the path was logged.
        let discarded = try #require(installed.discardedPath)
        #expect(discarded.hasPrefix(standby.path + "/discarded/"))
        for segment in oldSegments {
            let name = String(segment.path.split(separator: "/").last!)
            #expect(try fileBytes(discarded + "/wal/" + name) == oldFiles[segment.path])
        }
        #expect(try fileBytes(discarded + "/snapshots/" + SnapshotFormat.fileName(lsn: LSN(30))) == oldFiles[standby.snapshotDirectory + "/" + SnapshotFormat.fileName(lsn: LSN(30))])
        #expect(capture.messages(containing: discarded).count == 1)

        // Recovery with the snapshot and an empty wal/ agrees, and the writer continues after it.
        let recovered = try recover(standby)
        #expect(recovered.lastLSN == LSN(250) && recovered.keyspace.entries == installed.state.keyspace.entries)
        #expect(recovered.lastRecordChecksum == primary.snapshot.lastRecordChecksum, "from the header: no WAL holds record 250 here")
        let writer = try WALWriter.open(dataDirectory: standby.path, after: installed.state)
        #expect(try writer.append(epoch: .initial, effects: testRecord(251)) == LSN(251))
        try writer.writePending()
        _ = try writer.makeSyncJob()?.run()
        writer.close()
        let after = try recover(standby)
        #expect(after.lastLSN == LSN(251))
        #expect(after.keyspace.entries == expectedKeyspace(records: 1...251).entries)
        #expect(after.lastRecordChecksum == (try WALFormat.decodeFrames(try expectedFrames(251...251)))[0].checksum)
    }

    @Test func installOnAnEmptyNode_discardsNothing() throws {
        let primary = try primaryWithSnapshot()
        let standby = try TemporaryDirectory()
        let installed = try transfer(from: primary.snapshot.path, to: standby.path)
        #expect(installed.discardedPath == nil)
        #expect(try recover(standby).keyspace.entries == expectedKeyspace(records: 1...250).entries)
    }

    @Test func interruptedTransfer_leavesTheNodeUnchanged() throws {
        let primary = try primaryWithSnapshot()
        let standby = try standbyWithHistory()
        let before = try contents(standby)
        let stateBefore = try recover(standby)
        for stop in [0, 1, 39, 41, 5000] {
            let sender = try SnapshotSender(path: primary.snapshot.path)
            do {
                let receiver = try SnapshotReceiver(dataDirectory: standby.path, expectedLSN: LSN(250), totalBytes: sender.totalBytes)
                var sent = 0
                while sent < stop, let chunk = try sender.nextChunk(maxBytes: min(700, stop - sent)) {
                    try receiver.receive(chunk)
                    sent += chunk.count
                }
                if stop == 5000 {
                    #expect(storageError { _ = try receiver.finish(expectedChecksum: 0, logger: LogCapture().logger) }?.code == .snapshotTransfer)
                } else if stop == 41 {
                    receiver.abort()
                }
                // Otherwise the receiver is dropped unfinished: the connection died.
            }
            #expect(try contents(standby) == before, "stopped after \(stop) bytes")
            #expect(!FileIO.fileExists(standby.path + "/discarded"))
        }
        let stateAfter = try recover(standby)
        #expect(stateAfter.lastLSN == stateBefore.lastLSN && stateAfter.keyspace.entries == stateBefore.keyspace.entries)
    }

    @Test func moreBytesThanAnnounced_areRefused_andTheTransferIsAbandoned() throws {
        let primary = try primaryWithSnapshot()
        let standby = try standbyWithHistory()
        let before = try contents(standby)
        let sender = try SnapshotSender(path: primary.snapshot.path)
        let receiver = try SnapshotReceiver(dataDirectory: standby.path, expectedLSN: LSN(250), totalBytes: sender.totalBytes - 1)
        let error = storageError { while let chunk = try sender.nextChunk(maxBytes: 512) { try receiver.receive(chunk) } }
        #expect(error?.code == .snapshotTransfer)
        #expect(receiver.receivedBytes <= sender.totalBytes - 1)
        #expect(storageError { try receiver.receive([1]) }?.code == .invalidState)
        #expect(try contents(standby) == before)
    }

    @Test func wrongChecksum_wrongLSN_orInvalidFile_areRefused_andTheNodeIsUnchanged() throws {
        let primary = try primaryWithSnapshot()
        let standby = try standbyWithHistory()
        let before = try contents(standby)
        let file = try fileBytes(primary.snapshot.path)

        let wrongChecksum = try SnapshotReceiver(dataDirectory: standby.path, expectedLSN: LSN(250), totalBytes: Int64(file.count))
        try wrongChecksum.receive(file)
        #expect(storageError { _ = try wrongChecksum.finish(expectedChecksum: CRC32C.checksum(file) ^ 1, logger: LogCapture().logger) }?.code == .snapshotTransfer)
        #expect(try contents(standby) == before)

        let wrongLSN = try SnapshotReceiver(dataDirectory: standby.path, expectedLSN: LSN(249), totalBytes: Int64(file.count))
        #expect(storageError { try wrongLSN.receive(file) }?.code == .snapshotTransfer)
        #expect(try contents(standby) == before)

        var damaged = file
        damaged[file.count / 2] ^= 0x20
        let invalid = try SnapshotReceiver(dataDirectory: standby.path, expectedLSN: LSN(250), totalBytes: Int64(file.count))
        try invalid.receive(damaged)
        let error = storageError { _ = try invalid.finish(expectedChecksum: CRC32C.checksum(damaged), logger: LogCapture().logger) }
        #expect(error?.code == .corruptSnapshot)
        #expect(try contents(standby) == before)
        #expect(storageError { _ = try SnapshotReceiver(dataDirectory: standby.path, expectedLSN: LSN(1), totalBytes: 10) }?.code == .snapshotTransfer)
    }

    @Test func twoInstallsInARow_keepBothDiscardedLogs() throws {
        let primary = try primaryWithSnapshot()
        let standby = try standbyWithHistory()
        let first = try transfer(from: primary.snapshot.path, to: standby.path)
        try writeRecords(251...260, in: standby)
        let second = try transfer(from: primary.snapshot.path, to: standby.path)
        let firstPath = try #require(first.discardedPath)
        let secondPath = try #require(second.discardedPath)
        #expect(firstPath != secondPath)
        #expect(FileIO.fileExists(firstPath + "/wal") && FileIO.fileExists(secondPath + "/wal"))
        #expect(try recover(standby).lastLSN == LSN(250))
    }

    private func transfer(from path: String, to dataDirectory: String) throws -> SnapshotInstallation {
        let sender = try SnapshotSender(path: path)
        let receiver = try SnapshotReceiver(dataDirectory: dataDirectory, expectedLSN: sender.info.lsn, totalBytes: sender.totalBytes)
        while let chunk = try sender.nextChunk(maxBytes: 4096) { try receiver.receive(chunk) }
        return try receiver.finish(expectedChecksum: try #require(sender.checksum), logger: LogCapture().logger)
    }
}
