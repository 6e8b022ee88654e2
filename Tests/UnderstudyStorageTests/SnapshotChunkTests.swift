import Glibc
import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct SnapshotChunkTests {
    @Test func encoder_emitsChunksNearTheTarget_andTheyDecode() throws {
        var encoder = SnapshotChunkEncoder()
        var chunks: [[UInt8]] = []
        var expected: [[UInt8]: Entry] = [:]
        for index in 0..<30_000 {
            let key = Array("k\(index)".utf8)
            let entry = Entry(value: [UInt8](repeating: UInt8(index & 0xFF), count: 100), expireAtMilliseconds: index % 2 == 0 ? Int64(index) : nil)
            expected[key] = entry
            if let chunk = encoder.add(key: key, entry: entry) { chunks.append(chunk) }
        }
        if let chunk = encoder.finish() { chunks.append(chunk) }
        #expect(chunks.count >= 3)
        var decoded: [[UInt8]: Entry] = [:]
        for chunk in chunks {
            try chunk.withUnsafeBytes { raw in
                let header = try SnapshotChunk.parseHeader(raw, available: raw.count - SnapshotChunk.headerBytes)
                #expect(header.rawBytes <= SnapshotChunk.targetRawBytes + 200)
                #expect(header.compressedBytes < header.rawBytes, "repetitive values compress")
                let compressed = UnsafeRawBufferPointer(rebasing: raw[SnapshotChunk.headerBytes...])
                for (key, entry) in try SnapshotChunk.decode(header: header, headerBytes: raw, compressed: compressed).entries {
                    decoded[key] = entry
                }
            }
        }
        #expect(decoded == expected)
    }

    @Test func rawLengthAboveLimit_isRefused() {
        var header = [UInt8](repeating: 0, count: SnapshotChunk.headerBytes)
        header.storeUInt32(UInt32(SnapshotChunk.maxRawBytes + 1), at: 0)
        header.storeUInt32(10, at: 4)
        #expect(storageError { _ = try header.withUnsafeBytes { try SnapshotChunk.parseHeader($0, available: 100) } }?.code == .corruptSnapshot)
    }
}
