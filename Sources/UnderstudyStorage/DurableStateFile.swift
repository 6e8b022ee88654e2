import Glibc
import UnderstudyCore

/// A small state file that must never be half-written: a node's epoch history
/// (`<data-dir>/epochs`, `.epochHistory`) or the witness's record (`<data-dir>/witness`,
/// `.witnessRecord`).
///
/// The content is opaque here (the core's `EpochHistory` encodes it); this type only
/// makes it durable and detects damage:
///
///     0  magic (8 bytes: "UNDSTEPO" for epochs, "UNDSTWIT" for the witness)
///     8  format version u32   (1)
///    12  payload length u32   (≤ maxPayloadBytes)
///    16  payload
///        CRC32C of every byte before it u32; the file ends right after it
///
/// Blocking file I/O. A node MUST persist a new epoch (the witness: its record) before it
/// acts on it, so `write` returns only once the file and its directory entry are durable.
public struct DurableStateFile: Sendable {
    /// Far more than any state file needs; checked before anything is allocated.
    public static let maxPayloadBytes = 1 << 20
    public static let version: UInt32 = 1
    static let headerBytes = 16
    static let temporarySuffix = ".tmp"

    public let fileName: String
    let magic: [UInt8]
    /// What the file holds, for error messages ("epoch history").
    let contents: String

    init(fileName: String, magic: String, contents: String) {
        precondition(magic.utf8.count == 8, "a state file magic is 8 bytes")
        self.fileName = fileName
        self.magic = Array(magic.utf8)
        self.contents = contents
    }

    public func path(dataDirectory: String) -> String {
        dataDirectory + "/" + fileName
    }

    /// Replaces the stored payload: temporary file → fsync → rename → fsync the directory.
    /// A crash at any point leaves either the old file or the new one, never a mixture.
    public func write(_ payload: [UInt8], dataDirectory: String) throws {
        precondition(payload.count <= Self.maxPayloadBytes, "a \(contents) of \(payload.count) bytes exceeds \(Self.maxPayloadBytes)")
        try FileIO.makeDirectories(dataDirectory)
        let path = path(dataDirectory: dataDirectory)
        var bytes = magic
        bytes.appendUInt32(Self.version)
        bytes.appendUInt32(UInt32(payload.count))
        bytes += payload
        bytes.appendUInt32(CRC32C.checksum(bytes))
        try FileIO.replaceDurably(path, directory: dataDirectory, temporarySuffix: Self.temporarySuffix) { descriptor, temporaryPath in
            try FileIO.writeAll(descriptor, bytes, path: temporaryPath)
        }
    }

    /// The stored payload, or nil if there is no file.
    ///
    /// - Throws: `.corruptEpochHistory` naming the file (and offset) for anything but a
    ///   whole, checksum-valid file; `.unsupportedVersion`; `.io`. A process MUST NOT start
    ///   on a damaged state file: its epoch could go backwards.
    public func read(dataDirectory: String) throws -> [UInt8]? {
        let path = path(dataDirectory: dataDirectory)
        let descriptor: Int32
        do {
            descriptor = try FileIO.open(path, flags: O_RDONLY)
        } catch let error as StorageError where error.errno == ENOENT {
            return nil
        }
        defer { close(descriptor) }
        let size = try FileIO.size(descriptor, path: path)
        guard size <= Int64(Self.headerBytes + Self.maxPayloadBytes + 4) else {
            throw StorageError(.corruptEpochHistory, "file is \(size) bytes, more than any \(contents)", path: path)
        }
        let bytes = try FileIO.readWholeFile(descriptor, path: path)
        do {
            return try decode(bytes)
        } catch var error as StorageError {
            error.path = path
            throw error
        }
    }

    func decode(_ bytes: [UInt8]) throws -> [UInt8] {
        try bytes.withUnsafeBytes { raw in
            guard raw.count >= Self.headerBytes + 4, raw.prefix(8).elementsEqual(magic) else {
                throw StorageError(.corruptEpochHistory, "not a \(contents) file (\(raw.count) bytes, bad magic or too short)", offset: 0)
            }
            let length = Int(raw.readUInt32(at: 12))
            guard length <= Self.maxPayloadBytes, Self.headerBytes + length + 4 == raw.count else {
                throw StorageError(.corruptEpochHistory, "payload length \(length) does not match the file size \(raw.count)", offset: 12)
            }
            let checksumOffset = Self.headerBytes + length
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[..<checksumOffset])) == raw.readUInt32(at: checksumOffset) else {
                throw StorageError(.corruptEpochHistory, "checksum mismatch", offset: Int64(checksumOffset))
            }
            let version = raw.readUInt32(at: 8)
            guard version == Self.version else {
                throw StorageError(.unsupportedVersion, "\(contents) format version \(version) is not supported (this build reads \(Self.version))", offset: 8)
            }
            return Array(raw[Self.headerBytes..<checksumOffset])
        }
    }
}

extension DurableStateFile {
    /// A node's epoch history, in `<data-dir>/epochs`.
    public static let epochHistory = DurableStateFile(fileName: "epochs", magic: "UNDSTEPO", contents: "epoch history")
    /// The witness's record, in `<data-dir>/witness`.
    public static let witnessRecord = DurableStateFile(fileName: "witness", magic: "UNDSTWIT", contents: "witness record")
}

extension DurableStateFile {
    /// A data node's cluster identity, in `<data-dir>/cluster`: written once, when the node
    /// first learns it from the witness, and checked against every peer from then on.
    public static let clusterIdentity = DurableStateFile(fileName: "cluster", magic: "UNDSTCID", contents: "cluster identity")
    /// The highest epoch a data node has known (decimal), in `<data-dir>/epoch`: never
    /// lowered, though the epoch history is trimmed to the log's end (a primary that wrote
    /// nothing in its epoch keeps no entry for it), so that a restarted node never reports
    /// less than it knew — a witness rebuilding a lost record would reuse an epoch.
    public static let knownEpoch = DurableStateFile(fileName: "epoch", magic: "UNDSTKEP", contents: "highest known epoch")
}
