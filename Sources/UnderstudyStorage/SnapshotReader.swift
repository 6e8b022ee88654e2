import Glibc
public import UnderstudyCore

/// Reads and validates snapshot files.
///
/// Nothing read from the file is trusted before it is checked: the header's checksum and
/// version, every chunk length against the format limits and the bytes left in the file
/// (before any allocation), every chunk checksum before decompression, the entry count,
/// the whole-file checksum, and that the file ends exactly after the trailer.
public enum SnapshotReader {
    /// Loads the snapshot at `path`. Throws `StorageError` (`.corruptSnapshot` with the
    /// byte offset, `.unsupportedVersion`, or `.io`).
    public static func read(path: String) throws -> (keyspace: Keyspace, info: SnapshotInfo) {
        let descriptor = try FileIO.open(path, flags: O_RDONLY)
        defer { close(descriptor) }
        var file = SequentialFile(descriptor: descriptor, path: path, size: try FileIO.size(descriptor, path: path))
        do {
            return try read(&file)
        } catch var error as StorageError {
            error.path = path
            if error.offset == nil { error.offset = file.offset }
            throw error
        }
    }

    private static func read(_ file: inout SequentialFile) throws -> (keyspace: Keyspace, info: SnapshotInfo) {
        guard file.size >= Int64(SnapshotFormat.headerBytes + SnapshotFormat.trailerBytes) else {
            throw StorageError(.corruptSnapshot, "file is \(file.size) bytes, too short for a snapshot")
        }
        let (lsn, epoch, lastRecordChecksum) = try file.read(SnapshotFormat.headerBytes).withUnsafeBytes {
            try SnapshotFormat.parseHeader($0)
        }
        if let nameLSN = SnapshotFormat.lsn(ofFileNamed: String(file.path.split(separator: "/").last ?? "")), nameLSN != lsn {
            throw StorageError(.corruptSnapshot, "header says LSN \(lsn) but the file name says \(nameLSN)", offset: 16)
        }
        var entries = KeyTable()
        entries.reserveCapacity(try entryCountHint(file))
        var remembered: [Effect] = []
        var chunkCount = 0
        while true {
            let chunkStart = file.offset
            let marker = try file.read(4)
            if marker.withUnsafeBytes({ $0.readUInt32(at: 0) }) == SnapshotFormat.endMarker { break }
            let rest = try file.read(SnapshotChunk.headerBytes - 4)
            let headerBytes = marker + rest
            // The trailer must still fit after this chunk.
            let available = Int(file.size - file.offset) - (SnapshotFormat.trailerBytes)
            do {
                let header = try headerBytes.withUnsafeBytes { try SnapshotChunk.parseHeader($0, available: available) }
                let compressed = try file.read(header.compressedBytes)
                // Keys and values go from the decompressed chunk straight into the table.
                try headerBytes.withUnsafeBytes { headerRaw in
                    try compressed.withUnsafeBytes { compressed in
                        try SnapshotChunk.decode(header: header, headerBytes: headerRaw, compressed: compressed) { key, value, expireAtMilliseconds in
                            guard !entries.set(key: key, value: value, expireAtMilliseconds: expireAtMilliseconds).existed else {
                                throw StorageError(.corruptSnapshot, "key appears twice")
                            }
                        } remembered: { remembered.append($0) }
                    }
                }
            } catch var error as StorageError {
                error.message = "chunk \(chunkCount): \(error.message)"
                error.offset = chunkStart
                throw error
            }
            chunkCount += 1
        }
        let trailer = try file.read(SnapshotFormat.trailerBytes - 4)
        let expectedChecksum = file.checksumBefore(last: 4)
        try trailer.withUnsafeBytes { raw in
            let entryCount = raw.readUInt64(at: 0)
            let trailerChunkCount = raw.readUInt32(at: 8)
            guard entryCount == UInt64(entries.count), trailerChunkCount == UInt32(chunkCount) else {
                throw StorageError(.corruptSnapshot, "trailer counts \(entryCount) entries in \(trailerChunkCount) chunks; the file holds \(entries.count) in \(chunkCount)")
            }
            guard raw.readUInt32(at: 12) == expectedChecksum else {
                throw StorageError(.corruptSnapshot, "file checksum mismatch")
            }
        }
        guard file.offset == file.size else {
            throw StorageError(.corruptSnapshot, "\(file.size - file.offset) bytes follow the trailer")
        }
        let info = SnapshotInfo(path: file.path, lsn: lsn, epoch: epoch, lastRecordChecksum: lastRecordChecksum, entryCount: entries.count, chunkCount: chunkCount, fileBytes: file.size)
        var keyspace = Keyspace(table: entries)
        for effect in remembered { keyspace.apply(effect) }
        return (keyspace, info)
    }
}

/// The entry count the trailer claims, as a capacity hint for the table: nothing is
/// trusted yet (the count is checked against the entries once all are read), so a trailer
/// that does not look like one gives no hint, and no hint exceeds a quarter of the file's
/// size in bytes (an entry takes more than that even compressed: key, value and lengths),
/// so a damaged count reserves at most a few times the file's size.
private func entryCountHint(_ file: SequentialFile) throws -> Int {
    var trailer = [UInt8](repeating: 0, count: SnapshotFormat.trailerBytes)
    let complete = try trailer.withUnsafeMutableBytes {
        try FileIO.readExactly(file.descriptor, into: $0, at: file.size - Int64(SnapshotFormat.trailerBytes), path: file.path)
    }
    return trailer.withUnsafeBytes { raw in
        guard complete, raw.readUInt32(at: 0) == SnapshotFormat.endMarker else { return 0 }
        return Int(min(raw.readUInt64(at: 4), UInt64(file.size / 4)))
    }
}

/// Reads a file front to back with `pread`, keeping a running CRC32C of what was read.
private struct SequentialFile {
    let descriptor: Int32
    let path: String
    let size: Int64
    private(set) var offset: Int64 = 0
    private var checksum = CRC32C()
    private var checksumBeforeLastRead = CRC32C()
    private var lastRead: [UInt8] = []

    init(descriptor: Int32, path: String, size: Int64) {
        self.descriptor = descriptor
        self.path = path
        self.size = size
    }

    /// Reads exactly `count` bytes; refuses to read past the end of the file (checked
    /// before allocating).
    mutating func read(_ count: Int) throws -> [UInt8] {
        guard count >= 0, Int64(count) <= size - offset else {
            throw StorageError(.corruptSnapshot, "needs \(count) bytes but only \(size - offset) remain", offset: offset)
        }
        var bytes = [UInt8](repeating: 0, count: count)
        let complete = try bytes.withUnsafeMutableBytes { try FileIO.readExactly(descriptor, into: $0, at: offset, path: path) }
        guard complete else { throw StorageError(.io, "file shrank while being read", offset: offset) }
        offset += Int64(count)
        checksumBeforeLastRead = checksum
        checksum.update(bytes)
        lastRead = bytes
        return bytes
    }

    /// The CRC of everything read except the last `last` bytes of the most recent read.
    func checksumBefore(last: Int) -> UInt32 {
        var crc = checksumBeforeLastRead
        crc.update(lastRead.dropLast(last))
        return crc.value
    }
}
