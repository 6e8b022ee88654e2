/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI, ext4 and
/// most write-ahead logs.
///
/// Every WAL frame and snapshot chunk is checked with it, so it sits on the write hot
/// path: the implementation is table-driven slicing-by-8 (eight bytes per step), in pure
/// Swift so that the core stays free of platform intrinsics.
///
/// Use the static `checksum` for one buffer, or a value and `update` for data that
/// arrives in pieces:
///
///     var crc = CRC32C()
///     crc.update(header)
///     crc.update(payload)
///     let value = crc.value
public struct CRC32C: Sendable, Equatable {
    /// The running register (pre- and post-inverted, as the standard defines).
    private var register: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// The checksum of everything passed to `update` so far.
    public var value: UInt32 { ~register }

    /// Feeds `buffer` into the checksum.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        register = CRC32C.advance(register, buffer)
    }

    /// Feeds `bytes` into the checksum; contiguous collections take the fast path.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { storage in
            update(UnsafeRawBufferPointer(storage))
        }
        if done != nil { return }
        let table = CRC32C.tables
        var crc = register
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        register = crc
    }

    /// The checksum of one buffer.
    public static func checksum(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        ~advance(0xFFFF_FFFF, buffer)
    }

    /// The checksum of one collection of bytes.
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.value
    }

    /// Slicing-by-8 over `buffer`, then byte-at-a-time for the last 0–7 bytes.
    private static func advance(_ start: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        var crc = start
        let count = buffer.count
        guard count > 0 else { return crc }
        tables.withUnsafeBufferPointer { table in
            var offset = 0
            while count - offset >= 8 {
                let word = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc = table[7 * 256 + Int(low & 0xFF)]
                    ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)]
                    ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)]
                    ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((high >> 16) & 0xFF)]
                    ^ table[Int(high >> 24)]
                offset += 8
            }
            while offset < count {
                crc = table[Int((crc ^ UInt32(buffer[offset])) & 0xFF)] ^ (crc >> 8)
                offset += 1
            }
        }
        return crc
    }

    /// Eight 256-entry tables, back to back: table k advances a byte through k further
    /// zero bytes, which is what lets one step consume eight bytes.
    private static let tables: [UInt32] = {
        let polynomial: UInt32 = 0x82F6_3B78
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var crc = UInt32(index)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1
            }
            tables[index] = crc
        }
        for slice in 1..<8 {
            for index in 0..<256 {
                let previous = tables[(slice - 1) * 256 + index]
                tables[slice * 256 + index] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()
}
