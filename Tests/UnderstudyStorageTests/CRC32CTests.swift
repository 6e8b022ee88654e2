import Testing
import UnderstudyCore

/// CRC32C lives in the core; its tests live here because the WAL is its user (the core
/// test target is shared with another engineer's work).
@Suite struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // RFC 3720 (iSCSI) B.4 test patterns.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    }

    @Test func incrementalUpdate_matchesOneShot_atEverySplit() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = CRC32C.checksum(bytes)
        for split in 0...bytes.count {
            var crc = CRC32C()
            crc.update(bytes[..<split])
            crc.update(bytes[split...])
            #expect(crc.value == whole)
        }
    }

    @Test func slicedPath_matchesBytewisePath() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 3) }
        // A lazy collection is not contiguous: it takes the byte-at-a-time path.
        let bytewise = CRC32C.checksum(bytes.lazy.map { $0 })
        let sliced = bytes.withUnsafeBytes { CRC32C.checksum($0) }
        #expect(bytewise == sliced)
    }
}
