import Glibc
import Testing
import UnderstudyCore
@testable import UnderstudyStorage

func sampleKeyspace(count: Int, largeValues: Int = 0) -> Keyspace {
    var entries: [[UInt8]: Entry] = [:]
    for index in 0..<count {
        entries[Array("key-\(index)".utf8)] = Entry(
            value: Array("value-\(index)".utf8),
            expireAtMilliseconds: index % 3 == 0 ? 1_700_000_000_000 + Int64(index) : nil
        )
    }
    for index in 0..<largeValues {
        entries[Array("large-\(index)".utf8)] = Entry(value: (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* (index + 7)) })
    }
    return Keyspace(entries: entries)
}

@Suite struct SnapshotWriterTests {
    @Test func roundTrip_withExpiries_andValuesLargerThanAChunk() throws {
        let directory = try TemporaryDirectory()
        let keyspace = sampleKeyspace(count: 20_000, largeValues: 2)
        let info = try SnapshotWriter.write(keyspace: keyspace, lsn: LSN(77), epoch: Epoch(3), lastRecordChecksum: nil, dataDirectory: directory.path)
        #expect(info.entryCount == 20_002)
        #expect(info.chunkCount >= 3)
        #expect(info.path == directory.snapshotDirectory + "/snapshot-00000000000000000077.snap")
        let (loaded, loadedInfo) = try SnapshotReader.read(path: info.path)
        #expect(loaded.entries == keyspace.entries)
        #expect(loadedInfo == info)
    }

    @Test func header_carriesTheLastRecordsChecksum_andAnOlderHeaderWithoutIt_readsAsUnknown() throws {
        let directory = try TemporaryDirectory()
        let info = try SnapshotWriter.write(keyspace: sampleKeyspace(count: 5), lsn: LSN(9), epoch: Epoch(2),
                                            lastRecordChecksum: 0xDEAD_BEEF, dataDirectory: directory.path)
        #expect(info.lastRecordChecksum == 0xDEAD_BEEF)
        #expect(try SnapshotReader.read(path: info.path).info.lastRecordChecksum == 0xDEAD_BEEF)
        #expect(try SnapshotFormat.newest(dataDirectory: directory.path)?.lastRecordChecksum == 0xDEAD_BEEF)

        let older = SnapshotFormat.header(lsn: LSN(9), epoch: Epoch(2), lastRecordChecksum: nil)
        #expect(try older.withUnsafeBytes { try SnapshotFormat.parseHeader($0) }.lastRecordChecksum == nil)
        #expect(older[12..<16].allSatisfy { $0 == 0 } && older[32..<36].allSatisfy { $0 == 0 }, "flags 0, field 0: the format before it")
    }

    @Test func header_withAFlagThisBuildDoesNotKnow_isRefused() throws {
        var header = Array(SnapshotFormat.header(lsn: LSN(9), epoch: Epoch(2), lastRecordChecksum: 7).prefix(36))
        header[12] |= 0b10
        header.appendUInt32(CRC32C.checksum(header))
        let error = storageError { _ = try header.withUnsafeBytes { try SnapshotFormat.parseHeader($0) } }
        #expect(error?.code == .unsupportedVersion)
    }

    @Test func roundTrip_emptyKeyspace() throws {
        let directory = try TemporaryDirectory()
        let info = try SnapshotWriter.write(keyspace: Keyspace(), lsn: LSN(0), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        #expect(info.chunkCount == 0)
        #expect(info.fileBytes == Int64(SnapshotFormat.headerBytes + SnapshotFormat.trailerBytes))
        #expect(try SnapshotReader.read(path: info.path).keyspace.count == 0)
    }

    @Test func keepsTheNewestTwo_andLeavesNoTemporaryFile() throws {
        let directory = try TemporaryDirectory()
        for lsn in [10, 20, 30, 40] as [UInt64] {
            _ = try SnapshotWriter.write(keyspace: sampleKeyspace(count: 10), lsn: LSN(lsn), epoch: .initial, lastRecordChecksum: nil, dataDirectory: directory.path)
        }
        #expect(try SnapshotFormat.list(dataDirectory: directory.path).map(\.lsn) == [LSN(40), LSN(30)])
        #expect(try FileIO.listDirectory(directory.snapshotDirectory).count == 2)
    }
}
