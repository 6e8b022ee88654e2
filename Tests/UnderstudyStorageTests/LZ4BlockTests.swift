import Testing
import UnderstudyStorage

@Suite struct LZ4BlockTests {
    @Test func roundTrip_repetitiveAndRandomLookingData() throws {
        for raw in [[UInt8](repeating: 7, count: 100_000), (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }, [42]] {
            let compressed = raw.withUnsafeBytes { LZ4Block.compress($0) }
            #expect(compressed.count <= LZ4Block.bound(rawBytes: raw.count))
            #expect(try compressed.withUnsafeBytes { try LZ4Block.decompress($0, rawBytes: raw.count) } == raw)
        }
    }

    @Test func decompress_wrongLengthOrGarbage_throws() {
        let raw = [UInt8](repeating: 1, count: 1000)
        let compressed = raw.withUnsafeBytes { LZ4Block.compress($0) }
        #expect(throws: StorageError.self) { try compressed.withUnsafeBytes { try LZ4Block.decompress($0, rawBytes: 999) } }
        #expect(throws: StorageError.self) { try [0xFF, 0xFF, 0xFF].withUnsafeBytes { try LZ4Block.decompress($0, rawBytes: 50) } }
        #expect(throws: StorageError.self) { try compressed.withUnsafeBytes { try LZ4Block.decompress($0, rawBytes: 0) } }
    }

    /// Found by fuzz/FuzzSnapshot: a snapshot chunk of a few bytes that claimed a raw length
    /// near 1 GiB made the reader allocate it all before decompressing (a replication batch
    /// could do the same). The claim is now checked against LZ4's maximum expansion first.
    @Test func decompress_rawLengthBeyondMaximumExpansion_isRefusedBeforeAllocating() throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let compressed = zeros.withUnsafeBytes { LZ4Block.compress($0) }
        #expect(zeros.count <= compressed.count * LZ4Block.maxExpansion, "the most compressible input stays within the bound")
        #expect(try compressed.withUnsafeBytes { try LZ4Block.decompress($0, rawBytes: zeros.count) } == zeros)
        let hostile: [UInt8] = [0x1F, 0x00, 0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]
        #expect(throws: StorageError.self) {
            try hostile.withUnsafeBytes { try LZ4Block.decompress($0, rawBytes: 838_860_882) }
        }
    }
}
