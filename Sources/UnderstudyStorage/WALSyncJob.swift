import Glibc
public import UnderstudyCore

/// One open WAL segment file, shared by the writer and any sync jobs.
///
/// The descriptor is closed when the last holder lets go, so a segment the writer has
/// retired stays open until the job that performs its final `fdatasync` is done with it:
/// a sync thread can never fsync a descriptor number that has been closed and reused.
final class SegmentFile: Sendable {
    let descriptor: Int32
    let path: String
    let firstLSN: LSN

    init(descriptor: Int32, path: String, firstLSN: LSN) {
        self.descriptor = descriptor
        self.path = path
        self.firstLSN = firstLSN
    }

    deinit { close(descriptor) }
}

/// Makes everything the `WALWriter` had written when the job was made durable.
///
/// Made on the writer's thread by `WALWriter.makeSyncJob()`; `run()` blocks in
/// `fdatasync` and MUST be called off the event loop (the server runs it on its sync
/// thread). The writer keeps appending and writing meanwhile: writes and `fdatasync` on
/// the same descriptor from two threads are safe, and the job holds its segment files
/// open until it is released.
///
/// A job that throws MUST be treated as fatal for the log: after a failed `fdatasync`
/// the kernel may have dropped the dirty pages, so retrying cannot prove durability.
/// Stop acknowledging writes and reopen (restart) the node.
public struct WALSyncJob: Sendable {
    /// The last LSN this job makes durable.
    public let lsn: LSN
    /// Retired segments (their final sync) first, then the active one.
    let files: [SegmentFile]
    /// Set when a segment file was created since the previous job: its directory entry
    /// must be made durable too.
    let directoryToSync: String?

    /// Blocks until every record up to `lsn` is on disk, then returns `lsn`.
    public func run() throws -> LSN {
        for file in files {
            try FileIO.dataSync(file.descriptor, path: file.path)
        }
        if let directoryToSync {
            try FileIO.syncDirectory(directoryToSync)
        }
        return lsn
    }
}
