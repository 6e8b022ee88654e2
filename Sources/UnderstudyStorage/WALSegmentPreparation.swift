import Glibc

/// A zero-filled, durable segment file ready to become the next WAL segment
/// (`WALWriter.preparationFinished`).
public struct WALPreparedSegment: Sendable, Equatable {
    /// `<data-dir>/wal/prepared-segment.ready`.
    public let path: String
    public let bytes: Int64
}

/// Makes the next WAL segment file ahead of need, off the event loop, so that group
/// commit's `fdatasync` overwrites blocks that are already allocated and written: it then
/// commits no file-size or extent metadata (measured here: ≈ 0.07 ms instead of ≈ 0.18 ms
/// after an append; docs/benchmarks.md, "The disk's floor").
///
/// Made on the writer's thread by `WALWriter.makePreparationJob()`; `run()` blocks (it
/// writes `bytes` zeros and syncs them) and MUST be called off the event loop. The file
/// is zero-filled with real writes, not `fallocate`: an unwritten extent still costs a
/// metadata commit on the first write into it. It is built under a temporary name and
/// renamed into place only once durable, so a crash never leaves a half-prepared file
/// that looks like a segment; `Recovery.recover` removes leftovers of either name.
public struct WALSegmentPreparation: Sendable {
    public let walDirectory: String
    public let bytes: Int64

    static let zeroChunkBytes = 1 << 20

    /// Creates, zero-fills and syncs the file, renames it to its ready name and syncs the
    /// directory. On failure the temporary file is removed and the error rethrown (the
    /// writer then creates its next segment on the spot, as without preparation).
    public func run() throws -> WALPreparedSegment {
        let temporaryPath = walDirectory + "/" + WALFormat.preparingName
        let readyPath = walDirectory + "/" + WALFormat.preparedName
        do {
            let descriptor = try FileIO.open(temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
            defer { close(descriptor) }
            try zeroFill(descriptor, path: temporaryPath)
            try FileIO.dataSync(descriptor, path: temporaryPath)
        } catch var error as StorageError {
            do {
                try FileIO.removeIfPresent(temporaryPath)
            } catch let removal {
                error.message += "; removing the unfinished file also failed (\(removal)); recovery removes it"
            }
            throw error
        }
        try FileIO.rename(temporaryPath, to: readyPath)
        try FileIO.syncDirectory(walDirectory)
        return WALPreparedSegment(path: readyPath, bytes: bytes)
    }

    private func zeroFill(_ descriptor: Int32, path: String) throws {
        let zeros = [UInt8](repeating: 0, count: WALSegmentPreparation.zeroChunkBytes)
        var written: Int64 = 0
        while written < bytes {
            let count = Int(min(Int64(zeros.count), bytes - written))
            let result = zeros.withUnsafeBytes { FileIO.writeAll(descriptor, UnsafeRawBufferPointer(rebasing: $0.prefix(count)), at: written) }
            if let code = result.errno {
                var error = FileIO.error("zero-filling a prepared segment (\(bytes) bytes)", path: path, errno: code)
                error.offset = written + Int64(result.written)
                throw error
            }
            written += Int64(count)
        }
    }
}
