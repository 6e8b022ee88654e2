import Glibc
import UnderstudyCore

/// One WAL segment opened for reading by a `WALReader`.
///
/// The descriptor stays valid if the file is pruned (unlinked) meanwhile, so a reader
/// can finish the segment it is in; it is closed when the reader lets go.
final class WALReadSegment {
    let descriptor: Int32
    let path: String
    let firstLSN: LSN

    /// Opens the segment and checks its header. A file shorter than a header (created
    /// but not yet written, or cut by recovery) holds no frames and is accepted.
    ///
    /// - Throws: `.walNotRetained` if the file does not exist (pruned), `.corruptLog` for
    ///   a bad header, `.unsupportedVersion`, `.io`.
    init(path: String, firstLSN: LSN) throws {
        do {
            descriptor = try FileIO.open(path, flags: O_RDONLY)
        } catch let error as StorageError where error.errno == ENOENT {
            throw StorageError(.walNotRetained, "the segment holding LSN \(firstLSN) and later is gone (pruned)", path: path)
        }
        self.path = path
        self.firstLSN = firstLSN
        let header = try read(at: 0, count: WALFormat.segmentHeaderBytes)
        guard header.count == WALFormat.segmentHeaderBytes else { return }
        switch header.withUnsafeBytes({ WALFormat.checkSegmentHeader($0) }) {
        case .valid(let headerLSN):
            guard headerLSN == firstLSN else {
                throw StorageError(.corruptLog, "segment header says first LSN \(headerLSN) but the file name says \(firstLSN)", path: path, offset: 16)
            }
        case .invalid(let reason):
            throw StorageError(.corruptLog, "invalid segment header: \(reason)", path: path, offset: 0)
        case .unsupportedVersion(let version):
            throw StorageError(.unsupportedVersion, "WAL segment format version \(version) is not supported (this build reads \(WALFormat.version))", path: path, offset: 8)
        }
    }

    deinit { close(descriptor) }

    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(at offset: Int64, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let result = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if result > 0 {
                    done += result
                } else if result == 0 {
                    break
                } else if errno != EINTR {
                    throw FileIO.error("read", path: path, errno: errno)
                }
            }
        }
        if done < count { bytes.removeSubrange(done...) }
        return bytes
    }

    func size() throws -> Int64 {
        try FileIO.size(descriptor, path: path)
    }
}
