import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct SnapshotSenderTests {
    @Test func newest_describesTheHighestSnapshot_fromHeaderAndTrailer() throws {
        let directory = try TemporaryDirectory()
        #expect(try SnapshotFormat.newest(dataDirectory: directory.path) == nil)
        #expect(try SnapshotSender.newest(dataDirectory: directory.path) == nil)
        _ = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...20), lsn: LSN(20), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let written = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...90), lsn: LSN(90), epoch: Epoch(2), lastRecordChecksum: nil, dataDirectory: directory.path)
        #expect(try SnapshotFormat.newest(dataDirectory: directory.path) == written)
    }

    @Test(arguments: [1, 3, 1000, 1 << 20])
    func chunks_concatenateToTheFile_andTheChecksumCoversItAll(maxBytes: Int) throws {
        let directory = try TemporaryDirectory()
        let written = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...400), lsn: LSN(400), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let sender = try #require(try SnapshotSender.newest(dataDirectory: directory.path))
        #expect(sender.info == written && sender.totalBytes == written.fileBytes)
        var bytes: [UInt8] = []
        while let chunk = try sender.nextChunk(maxBytes: maxBytes) {
            #expect(chunk.count <= maxBytes && !chunk.isEmpty)
            #expect(sender.checksum == nil || sender.bytesSent == sender.totalBytes)
            bytes += chunk
        }
        let file = try fileBytes(written.path)
        #expect(bytes == file)
        #expect(sender.checksum == CRC32C.checksum(file))
        #expect(try sender.nextChunk(maxBytes: maxBytes) == nil)
    }

    @Test func snapshotDamagedOnDisk_isRefusedAtItsLastChunk() throws {
        let directory = try TemporaryDirectory()
        let written = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...400), lsn: LSN(400), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        try corrupt(written.path, at: Int(written.fileBytes) / 2)
        let sender = try SnapshotSender(path: written.path)
        let error = storageError { while try sender.nextChunk(maxBytes: 256) != nil {} }
        #expect(error?.code == .corruptSnapshot && error?.path == written.path)
        #expect(sender.checksum == nil)
    }

    @Test func damagedHeaderOrTrailer_isRefusedWhenOpening() throws {
        let directory = try TemporaryDirectory()
        let written = try SnapshotWriter.write(keyspace: expectedKeyspace(records: 1...10), lsn: LSN(10), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let good = try fileBytes(written.path)
        for offset in [3, 20, good.count - SnapshotFormat.trailerBytes] {
            var bad = good
            bad[offset] ^= 0x08
            try writeFile(written.path, bad)
            let error = storageError { _ = try SnapshotSender(path: written.path) }
            #expect(error?.code == .corruptSnapshot && error?.path == written.path, "flipped byte \(offset)")
        }
    }
}
