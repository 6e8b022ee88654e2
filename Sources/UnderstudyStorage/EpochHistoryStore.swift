import Glibc
import UnderstudyCore

/// Persists a node's epoch history in `<data-dir>/epochs`.
///
/// The content is opaque here (the core's `EpochHistory` encodes it); this type only
/// makes it durable and detects damage:
///
///     0  magic "UNDSTEPO"     8
///     8  format version u32   (1)
///    12  payload length u32   (≤ maxPayloadBytes)
///    16  payload
///        CRC32C of every byte before it u32; the file ends right after it
///
/// Blocking file I/O. A node MUST persist a new epoch (`write` has returned) before it
/// acts in it, so `write` returns only once the file and its directory entry are durable.
public enum EpochHistoryStore {
    public static let fileName = "epochs"
    /// Far more than any history needs; checked before anything is allocated.
    public static let maxPayloadBytes = 1 << 20
    public static let version: UInt32 = 1

    static let magic: [UInt8] = Array("UNDSTEPO".utf8)
    static let headerBytes = 16
    static let temporarySuffix = ".tmp"

    public static func path(dataDirectory: String) -> String {
        dataDirectory + "/" + fileName
    }

    /// Replaces the stored history: temporary file → fsync → rename → fsync the directory.
    /// A crash at any point leaves either the old file or the new one, never a mixture.
    public static func write(_ payload: [UInt8], dataDirectory: String) throws {
        precondition(payload.count <= maxPayloadBytes, "an epoch history of \(payload.count) bytes exceeds \(maxPayloadBytes)")
        try FileIO.makeDirectories(dataDirectory)
        let path = path(dataDirectory: dataDirectory)
        let temporaryPath = path + temporarySuffix
        var bytes = magic
        bytes.appendUInt32(version)
        bytes.appendUInt32(UInt32(payload.count))
        bytes += payload
        bytes.appendUInt32(CRC32C.checksum(bytes))
        let descriptor = try FileIO.open(temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            defer { close(descriptor) }
            try FileIO.writeAll(descriptor, bytes, path: temporaryPath)
            try FileIO.fullSync(descriptor, path: temporaryPath)
        } catch {
            _ = unlink(temporaryPath)  // best effort: the error being thrown is the one that matters
            throw error
        }
        try FileIO.rename(temporaryPath, to: path)
        try FileIO.syncDirectory(dataDirectory)
    }

    /// The stored history, or nil if there is no file (a node that never wrote one).
    ///
    /// - Throws: `.corruptEpochHistory` naming the file (and offset) for anything but a
    ///   whole, checksum-valid file; `.unsupportedVersion`; `.io`. The node MUST NOT start
    ///   on a damaged history: its epoch could go backwards.
    public static func read(dataDirectory: String) throws -> [UInt8]? {
        let path = path(dataDirectory: dataDirectory)
        let descriptor: Int32
        do {
            descriptor = try FileIO.open(path, flags: O_RDONLY)
        } catch let error as StorageError where error.errno == ENOENT {
            return nil
        }
        defer { close(descriptor) }
        let size = try FileIO.size(descriptor, path: path)
        guard size <= Int64(headerBytes + maxPayloadBytes + 4) else {
            throw StorageError(.corruptEpochHistory, "file is \(size) bytes, more than any epoch history", path: path)
        }
        let bytes = try FileIO.readWholeFile(descriptor, path: path)
        do {
            return try decode(bytes)
        } catch var error as StorageError {
            error.path = path
            throw error
        }
    }

    static func decode(_ bytes: [UInt8]) throws -> [UInt8] {
        try bytes.withUnsafeBytes { raw in
            guard raw.count >= headerBytes + 4, raw.prefix(8).elementsEqual(magic) else {
                throw StorageError(.corruptEpochHistory, "not an epoch history file (\(raw.count) bytes, bad magic or too short)", offset: 0)
            }
            let length = Int(raw.readUInt32(at: 12))
            guard length <= maxPayloadBytes, headerBytes + length + 4 == raw.count else {
                throw StorageError(.corruptEpochHistory, "payload length \(length) does not match the file size \(raw.count)", offset: 12)
            }
            let checksumOffset = headerBytes + length
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[..<checksumOffset])) == raw.readUInt32(at: checksumOffset) else {
                throw StorageError(.corruptEpochHistory, "checksum mismatch", offset: Int64(checksumOffset))
            }
            let version = raw.readUInt32(at: 8)
            guard version == EpochHistoryStore.version else {
                throw StorageError(.unsupportedVersion, "epoch history format version \(version) is not supported (this build reads \(EpochHistoryStore.version))", offset: 8)
            }
            return Array(raw[headerBytes..<checksumOffset])
        }
    }
}
