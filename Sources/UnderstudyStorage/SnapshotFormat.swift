import Glibc
public import UnderstudyCore

/// The byte layout of snapshot files (docs/storage.md has the full picture).
///
///     header:  magic "UNDSTSNP" (8) | version u32 | flags u32 | LSN u64 | epoch u64 |
///              last record's checksum u32 | CRC32C of bytes 0..<36 u32       (40 bytes)
///     chunk*:  see `SnapshotChunk`
///     trailer: end marker u32 (0xFFFF_FFFF) | entry count u64 | chunk count u32 |
///              CRC32C of every file byte before this field u32              (20 bytes)
///
/// All integers are little-endian. The end marker is a raw length no chunk may have.
/// Flag bit 0 (`hasLastRecordChecksum`) says the field after the epoch holds the CRC32C of
/// the WAL frame of the record at the LSN (as framed in the WAL): a standby restored from
/// the snapshot offers it in its `REPLICATE`, so its last record is compared as any other.
/// Files from before it have flags 0 (the checksum unknown); other flag bits are refused.
public enum SnapshotFormat {
    public static let headerBytes = 40
    public static let trailerBytes = 20
    public static let version: UInt32 = 1
    /// How many snapshots `SnapshotWriter` keeps (the newest, and one to fall back to).
    public static let retainedSnapshots = 2

    static let magic: [UInt8] = Array("UNDSTSNP".utf8)
    static let hasLastRecordChecksum: UInt32 = 1
    static let endMarker: UInt32 = 0xFFFF_FFFF
    static let prefix = "snapshot-"
    static let suffix = ".snap"
    static let temporarySuffix = ".tmp"

    /// `snapshot-00000000000000000100.snap`: the LSN, zero-padded so names sort by LSN.
    public static func fileName(lsn: LSN) -> String {
        let number = String(lsn.rawValue)
        return prefix + String(repeating: "0", count: max(0, 20 - number.count)) + number + suffix
    }

    /// The LSN in a snapshot file name, or nil for any other file.
    public static func lsn(ofFileNamed name: String) -> LSN? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let number = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard number.count == 20, number.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = UInt64(number) else { return nil }
        return LSN(value)
    }

    /// Snapshot files in `<data-dir>/snapshots`, newest (highest LSN) first.
    public static func list(dataDirectory: String) throws -> [(lsn: LSN, path: String)] {
        let directory = StorageLayout.snapshotDirectory(dataDirectory)
        guard FileIO.fileExists(directory) else { return [] }
        return try FileIO.listDirectory(directory)
            .compactMap { name in lsn(ofFileNamed: name).map { (lsn: $0, path: directory + "/" + name) } }
            .sorted { $0.lsn > $1.lsn }
    }

    static func header(lsn: LSN, epoch: Epoch, lastRecordChecksum: UInt32?) -> [UInt8] {
        var header = magic
        header.appendUInt32(version)
        header.appendUInt32(lastRecordChecksum == nil ? 0 : hasLastRecordChecksum)
        header.appendUInt64(lsn.rawValue)
        header.appendUInt64(epoch.rawValue)
        header.appendUInt32(lastRecordChecksum ?? 0)
        header.appendUInt32(CRC32C.checksum(header))
        assert(header.count == headerBytes)
        return header
    }

    /// Validates a header; returns its LSN, epoch and the checksum of the record at the LSN.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer) throws -> (lsn: LSN, epoch: Epoch, lastRecordChecksum: UInt32?) {
        guard bytes.count >= headerBytes, bytes.prefix(8).elementsEqual(magic) else {
            throw StorageError(.corruptSnapshot, "bad snapshot magic", offset: 0)
        }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<36])) == bytes.readUInt32(at: 36) else {
            throw StorageError(.corruptSnapshot, "snapshot header checksum mismatch", offset: 0)
        }
        let version = bytes.readUInt32(at: 8)
        guard version == SnapshotFormat.version else {
            throw StorageError(.unsupportedVersion, "snapshot format version \(version) is not supported (this build reads \(SnapshotFormat.version))", offset: 8)
        }
        let flags = bytes.readUInt32(at: 12)
        guard flags & ~hasLastRecordChecksum == 0 else {
            throw StorageError(.unsupportedVersion, "snapshot header flags \(flags) are not supported (this build knows \(hasLastRecordChecksum))", offset: 12)
        }
        let lastRecordChecksum = flags & hasLastRecordChecksum != 0 ? bytes.readUInt32(at: 32) : nil
        return (LSN(bytes.readUInt64(at: 16)), Epoch(bytes.readUInt64(at: 24)), lastRecordChecksum)
    }
}

/// A snapshot on disk.
public struct SnapshotInfo: Sendable, Equatable {
    public var path: String
    /// Every record up to and including this LSN is in the snapshot.
    public var lsn: LSN
    /// The epoch of the record at `lsn`.
    public var epoch: Epoch
    /// The CRC32C of the WAL frame of the record at `lsn`; nil in a snapshot from before
    /// the header carried it (or at LSN 0).
    public var lastRecordChecksum: UInt32?
    public var entryCount: Int
    public var chunkCount: Int
    public var fileBytes: Int64
}

extension SnapshotFormat {
    /// The newest snapshot in `<data-dir>/snapshots` (highest LSN), described from its
    /// header and trailer only, or nil if there is none. Cheap: the chunks are not read,
    /// so the file is not fully validated (`SnapshotReader.read` does that; a
    /// `SnapshotSender` checks the file checksum as it streams).
    ///
    /// - Throws: `.corruptSnapshot` naming the file if its header or trailer is invalid.
    public static func newest(dataDirectory: String) throws -> SnapshotInfo? {
        guard let newest = try list(dataDirectory: dataDirectory).first else { return nil }
        let descriptor = try FileIO.open(newest.path, flags: O_RDONLY)
        defer { close(descriptor) }
        return try describe(descriptor: descriptor, path: newest.path)
    }

    /// Reads and checks the header and trailer of an open snapshot file.
    static func describe(descriptor: Int32, path: String) throws -> SnapshotInfo {
        let size = try FileIO.size(descriptor, path: path)
        do {
            guard size >= Int64(headerBytes + trailerBytes) else {
                throw StorageError(.corruptSnapshot, "file is \(size) bytes, too short for a snapshot", offset: 0)
            }
            let header = try readExactly(descriptor, count: headerBytes, at: 0, path: path)
            let (lsn, epoch, lastRecordChecksum) = try header.withUnsafeBytes { try parseHeader($0) }
            if let nameLSN = self.lsn(ofFileNamed: String(path.split(separator: "/").last ?? "")), nameLSN != lsn {
                throw StorageError(.corruptSnapshot, "header says LSN \(lsn) but the file name says \(nameLSN)", offset: 16)
            }
            let trailerOffset = size - Int64(trailerBytes)
            let trailer = try readExactly(descriptor, count: trailerBytes, at: trailerOffset, path: path)
            return try trailer.withUnsafeBytes { raw in
                guard raw.readUInt32(at: 0) == endMarker else {
                    throw StorageError(.corruptSnapshot, "no end marker where the trailer should start", offset: trailerOffset)
                }
                return SnapshotInfo(
                    path: path, lsn: lsn, epoch: epoch, lastRecordChecksum: lastRecordChecksum,
                    entryCount: Int(raw.readUInt64(at: 4)), chunkCount: Int(raw.readUInt32(at: 12)), fileBytes: size
                )
            }
        } catch var error as StorageError {
            error.path = path
            throw error
        }
    }

    private static func readExactly(_ descriptor: Int32, count: Int, at offset: Int64, path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let complete = try bytes.withUnsafeMutableBytes { try FileIO.readExactly(descriptor, into: $0, at: offset, path: path) }
        guard complete else { throw StorageError(.io, "file shrank while being read", path: path, offset: offset) }
        return bytes
    }
}
