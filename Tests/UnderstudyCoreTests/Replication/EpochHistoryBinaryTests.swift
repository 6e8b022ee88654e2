import Testing
@testable import UnderstudyCore

@Suite struct EpochHistoryBinaryTests {
    @Test func encode_decode_roundTrips() throws {
        for sample in [EpochHistory(), history((1, 1), (3, 120), (9, 4000))] {
            #expect(try EpochHistory(decoding: sample.encode()) == sample)
        }
    }

    @Test func encode_layout_isMagicVersionCountEntriesCRC() {
        let bytes = history((1, 1), (2, 5)).encode()
        #expect(bytes.count == 12 + 2 * 16 + 4)
        #expect(Array(bytes[0..<4]) == Array("UEPH".utf8))
        #expect(bytes[4] == 1 && bytes[8] == 2)
        #expect(bytes[12 + 16] == 2 && bytes[12 + 24] == 5)
    }

    @Test func decode_anyFlippedBit_isRejected() {
        let bytes = history((1, 1), (3, 120)).encode()
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0x10
            #expect(throws: ReplicationError.self) { try EpochHistory(decoding: damaged) }
        }
    }

    @Test func decode_truncatedOrExtended_isRejected() {
        let bytes = history((1, 1), (3, 120)).encode()
        for length in 0..<bytes.count {
            #expect(throws: ReplicationError.self) { try EpochHistory(decoding: Array(bytes[0..<length])) }
        }
        #expect(throws: ReplicationError.self) { try EpochHistory(decoding: bytes + [0]) }
    }

    @Test func decode_validCRCOverInvalidEntries_isRejected() {
        // Epochs going backwards, with a correct checksum: structure checks still apply.
        var body = Array("UEPH".utf8) + [1, 0, 0, 0, 2, 0, 0, 0]
        for value: UInt64 in [2, 1, 1, 5] { withUnsafeBytes(of: value.littleEndian) { body += $0 } }
        withUnsafeBytes(of: CRC32C.checksum(body).littleEndian) { body += $0 }
        #expect(throws: ReplicationError.self) { try EpochHistory(decoding: body) }
    }
}
