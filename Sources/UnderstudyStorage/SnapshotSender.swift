import Glibc
import UnderstudyCore

/// Streams a snapshot file to a standby in chunks, byte for byte.
///
/// Threading: blocking reads; run it on a background thread (not the event loop), owned
/// by one thread at a time (not `Sendable`: create it where it is used). The file stays
/// readable while it is sent even if `SnapshotWriter` removes it meanwhile (the
/// descriptor is open).
///
/// As it streams, the sender computes the CRC32C of the whole file (`checksum`, for the
/// receiver's `finish(expectedChecksum:)`) and checks the file's own trailer checksum:
/// a snapshot damaged on the primary's disk throws `.corruptSnapshot` at its last chunk
/// instead of being sent whole.
public final class SnapshotSender {
    public let info: SnapshotInfo
    public private(set) var bytesSent: Int64 = 0
    /// The CRC32C of every byte of the file; nil until the last chunk has been read.
    public private(set) var checksum: UInt32?

    private let descriptor: Int32
    private var wholeFile = CRC32C()
    /// The CRC of every byte before the trailer's checksum field, once passed.
    private var contentChecksum: UInt32?
    /// The last (up to) four bytes read: the trailer's checksum field at the end.
    private var lastBytes: [UInt8] = []

    /// The file size: what the `+SNAPSHOT` reply announces.
    public var totalBytes: Int64 { info.fileBytes }

    /// Opens the snapshot at `path` and checks its header and trailer.
    public init(path: String) throws {
        descriptor = try FileIO.open(path, flags: O_RDONLY)
        do {
            info = try SnapshotFormat.describe(descriptor: descriptor, path: path)
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// A sender for the newest snapshot of `dataDirectory`, or nil if there is none.
    public static func newest(dataDirectory: String) throws -> SnapshotSender? {
        guard let newest = try SnapshotFormat.newest(dataDirectory: dataDirectory) else { return nil }
        return try SnapshotSender(path: newest.path)
    }

    deinit { close(descriptor) }

    /// The next up to `maxBytes` bytes of the file, or nil once all of it was returned.
    ///
    /// - Throws: `.corruptSnapshot` if the file's trailer checksum does not match what was
    ///   read (thrown instead of returning the last chunk), `.io`.
    public func nextChunk(maxBytes: Int) throws -> [UInt8]? {
        precondition(maxBytes > 0, "maxBytes must be positive")
        let remaining = totalBytes - bytesSent
        guard remaining > 0 else { return nil }
        var chunk = [UInt8](repeating: 0, count: Int(min(Int64(maxBytes), remaining)))
        let complete = try chunk.withUnsafeMutableBytes { try FileIO.readExactly(descriptor, into: $0, at: bytesSent, path: info.path) }
        guard complete else { throw StorageError(.io, "file shrank while being sent", path: info.path, offset: bytesSent) }
        let checksumFieldOffset = totalBytes - 4
        let end = bytesSent + Int64(chunk.count)
        if bytesSent <= checksumFieldOffset && checksumFieldOffset < end {
            let split = Int(checksumFieldOffset - bytesSent)
            wholeFile.update(chunk[..<split])
            contentChecksum = wholeFile.value
            wholeFile.update(chunk[split...])
        } else {
            wholeFile.update(chunk)
        }
        if end == totalBytes {
            let field = Array((lastBytes + chunk).suffix(4))
            let stored = field.withUnsafeBytes { $0.readUInt32(at: 0) }
            guard let contentChecksum, stored == contentChecksum else {
                throw StorageError(.corruptSnapshot, "file checksum mismatch: the snapshot is damaged on disk", path: info.path, offset: checksumFieldOffset)
            }
            checksum = wholeFile.value
        }
        lastBytes = Array((lastBytes + chunk.suffix(4)).suffix(4))
        bytesSent = end
        return chunk
    }
}
