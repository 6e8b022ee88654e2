/// The binary form persisted in `DIR/epochs`:
///
/// ```
///  0  magic "UEPH"          4
///  4  format version u32    (1)
///  8  entry count u32       1 ... maximumEntries
/// 12  entries               count × (epoch u64, first LSN u64)
///  …  CRC32C u32            over every byte before it
/// ```
/// All integers little-endian. The decoder checks the length, then the CRC, before it
/// reads any field; then the structure; then the history's own rules.
extension EpochHistory {
    static let binaryMagic: [UInt8] = Array("UEPH".utf8)
    static let binaryFormatVersion: UInt32 = 1
    static let binaryHeaderBytes = 12
    static let binaryEntryBytes = 16

    /// The binary form, checksummed.
    public func encode() -> [UInt8] {
        var bytes = Self.binaryMagic
        bytes.reserveCapacity(Self.binaryHeaderBytes + entries.count * Self.binaryEntryBytes + 4)
        Self.append(Self.binaryFormatVersion, to: &bytes)
        Self.append(UInt32(entries.count), to: &bytes)
        for entry in entries {
            Self.append(entry.epoch.rawValue, to: &bytes)
            Self.append(entry.firstLSN.rawValue, to: &bytes)
        }
        Self.append(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// Decodes the binary form.
    /// - Throws: `ReplicationError.corruptHistory` for a wrong length, checksum, magic,
    ///   version or count, and for entries that break the history's rules.
    public init(decoding bytes: [UInt8]) throws {
        let minimum = Self.binaryHeaderBytes + Self.binaryEntryBytes + 4
        let maximum = Self.binaryHeaderBytes + Self.maximumEntries * Self.binaryEntryBytes + 4
        guard bytes.count >= minimum, bytes.count <= maximum else {
            throw ReplicationError(.corruptHistory, "epoch history file is \(bytes.count) bytes; a valid one has \(minimum) to \(maximum)")
        }
        let body = bytes[..<(bytes.count - 4)]
        let storedChecksum = UInt32(truncatingIfNeeded: Self.read(bytes, at: bytes.count - 4, width: 4))
        guard CRC32C.checksum(body) == storedChecksum else {
            throw ReplicationError(.corruptHistory, "epoch history checksum mismatch")
        }
        guard Array(bytes[0..<4]) == Self.binaryMagic else {
            throw ReplicationError(.corruptHistory, "epoch history file does not start with the magic \"UEPH\"")
        }
        let version = Self.read(bytes, at: 4, width: 4)
        guard version == UInt64(Self.binaryFormatVersion) else {
            throw ReplicationError(.corruptHistory, "epoch history format version \(version) is not supported (this node reads \(Self.binaryFormatVersion))")
        }
        let count = Int(Self.read(bytes, at: 8, width: 4))
        guard count >= 1, count <= Self.maximumEntries,
              bytes.count == Self.binaryHeaderBytes + count * Self.binaryEntryBytes + 4 else {
            throw ReplicationError(.corruptHistory, "epoch history declares \(count) entries but is \(bytes.count) bytes long")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for index in 0..<count {
            let offset = Self.binaryHeaderBytes + index * Self.binaryEntryBytes
            entries.append(Entry(epoch: Epoch(Self.read(bytes, at: offset, width: 8)),
                                 firstLSN: LSN(Self.read(bytes, at: offset + 8, width: 8))))
        }
        if let problem = Self.problem(in: entries) {
            throw ReplicationError(.corruptHistory, "epoch history file: \(problem)")
        }
        self.init(checkedEntries: entries)
    }

    private static func append(_ value: some FixedWidthInteger, to bytes: inout [UInt8]) {
        var little = value.littleEndian
        withUnsafeBytes(of: &little) { bytes.append(contentsOf: $0) }
    }

    /// A little-endian unsigned integer of `width` bytes at `offset`; the caller has
    /// checked the bounds.
    private static func read(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in (0..<width).reversed() {
            value = value << 8 | UInt64(bytes[offset + index])
        }
        return value
    }
}
