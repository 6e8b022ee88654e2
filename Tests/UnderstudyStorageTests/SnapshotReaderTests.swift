import Glibc
import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct SnapshotReaderTests {
    @Test func everyFlippedByte_isDetected() throws {
        let directory = try TemporaryDirectory()
        let info = try SnapshotWriter.write(keyspace: sampleKeyspace(count: 50), lsn: LSN(5), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let original = try fileBytes(info.path)
        for offset in 0..<original.count {
            var damaged = original
            damaged[offset] ^= 0x10
            try writeFile(info.path, damaged)
            let error = storageError { _ = try SnapshotReader.read(path: info.path) }
            #expect(error?.code == .corruptSnapshot || error?.code == .unsupportedVersion, "offset \(offset)")
            #expect(error?.path == info.path)
        }
    }

    @Test func everyTruncation_isDetected() throws {
        let directory = try TemporaryDirectory()
        let info = try SnapshotWriter.write(keyspace: sampleKeyspace(count: 50), lsn: LSN(5), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        let original = try fileBytes(info.path)
        for length in 0..<original.count {
            try writeFile(info.path, Array(original.prefix(length)))
            #expect(storageError { _ = try SnapshotReader.read(path: info.path) }?.code == .corruptSnapshot, "length \(length)")
        }
        try writeFile(info.path, original + [0])
        #expect(storageError { _ = try SnapshotReader.read(path: info.path) }?.code == .corruptSnapshot)
    }

    @Test func hugeChunkLength_isRefusedBeforeAllocating() throws {
        let directory = try TemporaryDirectory()
        let info = try SnapshotWriter.write(keyspace: sampleKeyspace(count: 5), lsn: LSN(5), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        var bytes = try fileBytes(info.path)
        bytes.storeUInt32(0x7FFF_FFFF, at: SnapshotFormat.headerBytes + 4)  // compressed length
        try writeFile(info.path, bytes)
        let error = storageError { _ = try SnapshotReader.read(path: info.path) }
        #expect(error?.code == .corruptSnapshot)
        #expect(error?.offset == Int64(SnapshotFormat.headerBytes))
    }
}
