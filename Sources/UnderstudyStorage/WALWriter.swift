import Glibc
public import UnderstudyCore

/// Appends records to the write-ahead log.
///
/// Threading: a `WALWriter` is owned by ONE thread (the server's event loop) and MUST
/// only be used from it; it is deliberately not `Sendable`. Durability is split off:
/// `makeSyncJob()` (owner thread) returns a `Sendable` `WALSyncJob` whose blocking `run()`
/// belongs on a separate sync thread, while the owner keeps appending and writing.
///
/// The pipeline for each record, with the guarantees at each step:
/// 1. `append` encodes a frame into memory and assigns the next LSN (no system call).
/// 2. `writePending` hands every pending frame to the kernel with `write(2)`: the
///    records survive a crash of the process, not of the machine.
/// 3. A sync job's `run()` returns LSN n: every record ≤ n survives a power failure.
///    A client MUST NOT be acknowledged before the level its fsync policy requires.
///
/// Segments are preallocated when the owner runs preparation jobs: `makePreparationJob()`
/// (owner thread) returns a `Sendable` `WALSegmentPreparation` that zero-fills the next
/// segment file off the loop; hand its result to `preparationFinished(_:)`. A rollover
/// takes the prepared file (header written, renamed to the segment's name) and writes
/// then overwrite its zeros, so `fdatasync` commits no size metadata. With none ready the
/// rollover creates a file that grows by appending, as before (`unpreparedRollovers`).
///
/// After a failed write the writer refuses all further work (`StorageError.Code
/// .writerFailed`): the records that were pending are lost and MUST be failed back to
/// their clients, none was acknowledged, and the file ends at the last whole frame.
/// Reopen through `Recovery.recover` and `WALWriter.open` to continue.
public final class WALWriter {
    public struct Configuration: Sendable {
        /// The size of a segment: a prepared segment is preallocated to it, and a batch that
        /// would take a segment past it starts the next one instead (only a batch larger
        /// than a whole segment makes one larger).
        public var segmentMaxBytes: Int64

        public init(segmentMaxBytes: Int64 = 16 << 20) {
            precondition(segmentMaxBytes > 0, "segmentMaxBytes must be positive")
            self.segmentMaxBytes = segmentMaxBytes
        }
    }

    public let configuration: Configuration
    /// `<data-dir>/wal`.
    public let walDirectory: String
    /// The LSN of the last record given to `append`.
    public private(set) var lastAppendedLSN: LSN
    /// The epoch of the last record given to `append`.
    public private(set) var lastAppendedEpoch: Epoch
    /// The CRC32C field of the last appended frame (what a standby sends in its
    /// `REPLICATE` handshake); nil when it is unknown (an empty log, or a log that ends at
    /// a snapshot whose record is no longer in the WAL).
    public private(set) var lastRecordChecksum: UInt32?
    /// The LSN of the last record handed to the kernel by `writePending`.
    public private(set) var lastWrittenLSN: LSN
    /// Bytes written to segment files by this writer (headers included).
    public private(set) var totalBytesWritten: Int64 = 0
    /// WAL bytes after the last snapshot (recovered count plus writes since); reset
    /// with `resetBytesSinceSnapshot()` when a snapshot is taken.
    public private(set) var bytesSinceSnapshot: Int64

    /// Rollovers that took a prepared (preallocated, zero-filled) segment file.
    public private(set) var preparedRollovers = 0
    /// Rollovers that found no prepared file ready and created the segment on the spot,
    /// on the writer's thread (it then grows by appending, and its syncs commit metadata).
    public private(set) var unpreparedRollovers = 0

    /// Bytes appended but not yet written.
    public var pendingBytes: Int { pending.count }

    /// The first LSN of the segment the next write goes to, or that is being written.
    /// Pass it to `WALSegments.prune`: that segment and later ones are never removed.
    public var activeSegmentFirstLSN: LSN { active?.firstLSN ?? lastWrittenLSN.next }

    private var pending: [UInt8] = []
    private var active: SegmentFile?
    private var activeBytes: Int64 = 0
    /// Sealed segments whose final `fdatasync` has not been handed to a job yet.
    private var retired: [SegmentFile] = []
    private var directoryNeedsSync = false
    private var lastSyncJobLSN: LSN
    private var failure: StorageError?
    /// The segment file prepared ahead, once its job has finished.
    private var prepared: WALPreparedSegment?
    private var preparationInFlight = false
    /// A preparation failed: no new one is asked for until the next rollover.
    private var preparationFailedSinceRollover = false

    /// Pending buffers grown past this are released after a write instead of kept.
    private static let retainedPendingCapacity = 4 << 20

    private init(walDirectory: String, configuration: Configuration, lastLSN: LSN, lastEpoch: Epoch, lastRecordChecksum: UInt32?, bytesSinceSnapshot: Int64) {
        self.walDirectory = walDirectory
        self.lastRecordChecksum = lastRecordChecksum
        self.configuration = configuration
        self.lastAppendedLSN = lastLSN
        self.lastAppendedEpoch = lastEpoch
        self.lastWrittenLSN = lastLSN
        self.lastSyncJobLSN = lastLSN
        self.bytesSinceSnapshot = bytesSinceSnapshot
        pending.reserveCapacity(64 << 10)
    }

    /// Opens the log to continue after what `Recovery.recover` found.
    ///
    /// The first write goes to a new segment named `recovered.lastLSN.next`; a leftover
    /// segment of that name that holds no record (a crash right after a rollover) is replaced. Recovery
    /// MUST have run on this directory first.
    public static func open(
        dataDirectory: String,
        after recovered: RecoveredState,
        configuration: Configuration = Configuration()
    ) throws -> WALWriter {
        let walDirectory = StorageLayout.walDirectory(dataDirectory)
        if try FileIO.makeDirectory(walDirectory) { try FileIO.syncDirectory(dataDirectory) }
        return WALWriter(
            walDirectory: walDirectory,
            configuration: configuration,
            lastLSN: recovered.lastLSN,
            lastEpoch: recovered.lastEpoch,
            lastRecordChecksum: recovered.lastRecordChecksum,
            bytesSinceSnapshot: recovered.statistics.walBytesAfterSnapshot
        )
    }

    /// Encodes one record into the pending buffer and returns its LSN. No system call.
    ///
    /// - Precondition: `effects` is not empty; `epoch` is not below the last appended one.
    /// - Throws: `.recordTooLarge` (nothing appended), or `.writerFailed` after a failure.
    public func append(epoch: Epoch, effects: [Effect]) throws -> LSN {
        if let failure { throw refusal(failure) }
        precondition(!effects.isEmpty, "a WAL record carries at least one effect")
        precondition(epoch >= lastAppendedEpoch, "epochs never decrease: \(epoch) after \(lastAppendedEpoch)")
        let lsn = lastAppendedLSN.next
        let start = pending.count
        try WALFormat.appendFrame(epoch: epoch, lsn: lsn, effects: effects, to: &pending)
        lastAppendedLSN = lsn
        lastAppendedEpoch = epoch
        lastRecordChecksum = pending.withUnsafeBytes { $0.readUInt32(at: start + 4) }
        return lsn
    }

    /// A standby's append: copies frames received from the primary into the pending
    /// buffer byte for byte (same framing, same CRCs), so its segments hold exactly the
    /// primary's frames. Returns the last LSN (`lastAppendedLSN` for empty input).
    ///
    /// Checked before anything is copied (`WALFormat.checkFrames`): whole frames, each
    /// checksum-valid and decodable, the first at `lastAppendedLSN + 1` and the rest
    /// contiguous, epochs not below `lastAppendedEpoch` and never decreasing. The caller
    /// MUST drop duplicates (LSN ≤ `lastAppendedLSN`) first: `WALRecord.frameBytes` says
    /// where each frame lies. Nothing is appended if any frame fails.
    ///
    /// - Throws: `.invalidFrames` or `.lsnGap` (nothing appended, the writer stays usable),
    ///   or `.writerFailed` after an earlier failure.
    @discardableResult
    public func appendFrames(_ frames: UnsafeRawBufferPointer) throws -> LSN {
        if let failure { throw refusal(failure) }
        var last: (lsn: LSN, epoch: Epoch, checksum: UInt32)?
        try WALFormat.checkFrames(frames, after: lastAppendedLSN, minimumEpoch: lastAppendedEpoch) { frame, offset, _ in
            last = (frame.lsn, frame.epoch, frames.readUInt32(at: offset + 4))
        }
        guard let last else { return lastAppendedLSN }
        pending.append(contentsOf: frames)
        lastAppendedLSN = last.lsn
        lastAppendedEpoch = last.epoch
        lastRecordChecksum = last.checksum
        return last.lsn
    }

    @discardableResult
    public func appendFrames(_ frames: [UInt8]) throws -> LSN {
        try frames.withUnsafeBytes { try appendFrames($0) }
    }

    /// A standby's append of frames it has decoded already: copies the bytes of `records`
    /// (which `WALFormat.decodeFrames` MUST have produced from these same `frames`: that
    /// call checked every CRC and payload) into the pending buffer byte for byte, without
    /// parsing them a second time. Returns the last LSN.
    ///
    /// What the decode could not know is checked here, before anything is copied: the first
    /// record follows `lastAppendedLSN`, LSNs are contiguous, epochs are not below
    /// `lastAppendedEpoch` and never decrease, and the frames lie back to back inside `frames`.
    ///
    /// - Throws: `.invalidFrames` or `.lsnGap` (nothing appended, the writer stays usable),
    ///   or `.writerFailed` after an earlier failure.
    @discardableResult
    public func appendDecodedFrames(_ records: ArraySlice<WALRecord>, in frames: UnsafeRawBufferPointer) throws -> LSN {
        if let failure { throw refusal(failure) }
        guard let first = records.first, let last = records.last else { return lastAppendedLSN }
        var expected = (lsn: lastAppendedLSN.next, epoch: lastAppendedEpoch, offset: first.frameBytes.lowerBound)
        for record in records {
            guard record.lsn == expected.lsn else {
                throw StorageError(.lsnGap, "frame has LSN \(record.lsn), expected \(expected.lsn)", offset: Int64(record.frameBytes.lowerBound))
            }
            guard record.epoch >= expected.epoch else {
                throw StorageError(.invalidFrames, "frame for LSN \(record.lsn) has epoch \(record.epoch), below epoch \(expected.epoch)", offset: Int64(record.frameBytes.lowerBound))
            }
            guard record.frameBytes.lowerBound == expected.offset, record.frameBytes.upperBound <= frames.count else {
                throw StorageError(.invalidFrames, "frame for LSN \(record.lsn) at \(record.frameBytes) does not follow its predecessor within \(frames.count) bytes", offset: Int64(record.frameBytes.lowerBound))
            }
            expected = (record.lsn.next, record.epoch, record.frameBytes.upperBound)
        }
        pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: frames[first.frameBytes.lowerBound..<last.frameBytes.upperBound]))
        lastAppendedLSN = last.lsn
        lastAppendedEpoch = last.epoch
        lastRecordChecksum = last.checksum
        return last.lsn
    }

    /// Writes every pending frame to the active segment (starting a new segment first if
    /// the active one is full) and returns the last written LSN.
    ///
    /// On failure (e.g. ENOSPC) any partial write is cut off again, the pending records
    /// are dropped, and the writer refuses further work; the error says what was lost.
    @discardableResult
    public func writePending() throws -> LSN {
        if let failure { throw refusal(failure) }
        guard !pending.isEmpty else { return lastWrittenLSN }
        let firstLSN = lastWrittenLSN.next
        do {
            if active == nil || !fits(pending.count) {
                try rollOver()
            }
        } catch let error as StorageError {
            throw fail(error, context: "starting a segment for LSNs \(firstLSN)...\(lastAppendedLSN)")
        }
        guard let active else { fatalError("Internal inconsistency: no active segment after rollover") }
        let result = pending.withUnsafeBytes { FileIO.writeAll(active.descriptor, $0, at: activeBytes) }
        if let code = result.errno {
            var error = FileIO.error("write of \(pending.count) bytes", path: active.path, errno: code)
            error.offset = activeBytes
            if result.written > 0 {
                do {
                    try FileIO.truncate(active.descriptor, to: activeBytes, path: active.path)
                } catch let truncateError {
                    error.message += "; removing the \(result.written) partial bytes also failed (\(truncateError)); recovery will cut them"
                }
            }
            throw fail(error, context: "writing LSNs \(firstLSN)...\(lastAppendedLSN)")
        }
        let written = Int64(pending.count)
        activeBytes += written
        totalBytesWritten += written
        bytesSinceSnapshot += written
        lastWrittenLSN = lastAppendedLSN
        if pending.capacity > WALWriter.retainedPendingCapacity {
            pending = []
            pending.reserveCapacity(64 << 10)
        } else {
            pending.removeAll(keepingCapacity: true)
        }
        return lastWrittenLSN
    }

    /// Creates the segment the next write goes to now, if there is none yet: after a full
    /// disk, the shell's probe that space has returned (a header written is a page of room).
    /// A failure leaves the writer usable (nothing pending is dropped), so the probe can be
    /// retried; a half-created segment holds no record and is replaced by the next attempt.
    public func openNextSegment() throws {
        if let failure { throw refusal(failure) }
        guard active == nil else { return }
        try rollOver()
    }

    /// Whether `error` says the file system has no room (ENOSPC, or EDQUOT: a quota).
    public static func isOutOfSpace(_ error: any Error) -> Bool {
        guard let error = error as? StorageError, let code = error.errno else { return false }
        return code == ENOSPC || code == EDQUOT
    }

    /// A job that makes everything written so far durable, or nil if an earlier job
    /// already covers it. Call on the owner thread; run the job on the sync thread.
    public func makeSyncJob() -> WALSyncJob? {
        guard lastWrittenLSN > lastSyncJobLSN || !retired.isEmpty || directoryNeedsSync else { return nil }
        var files = retired
        if let active { files.append(active) }
        let job = WALSyncJob(lsn: lastWrittenLSN, files: files, directoryToSync: directoryNeedsSync ? walDirectory : nil)
        retired.removeAll()
        directoryNeedsSync = false
        lastSyncJobLSN = lastWrittenLSN
        return job
    }

    /// A job that prepares the next segment file, or nil if one is ready or being made (or
    /// the last attempt failed and no rollover has happened since). Call on the owner
    /// thread, run the job off it, and pass its outcome to `preparationFinished(_:)`.
    public func makePreparationJob() -> WALSegmentPreparation? {
        guard failure == nil, prepared == nil, !preparationInFlight, !preparationFailedSinceRollover else { return nil }
        preparationInFlight = true
        return WALSegmentPreparation(walDirectory: walDirectory, bytes: configuration.segmentMaxBytes)
    }

    /// The outcome of the job from `makePreparationJob()` (owner thread). A failure is not
    /// a failure of the log: the next rollover creates its segment on the spot; the
    /// caller SHOULD log it.
    public func preparationFinished(_ result: Result<WALPreparedSegment, any Error>) {
        preparationInFlight = false
        switch result {
        case .success(let segment): prepared = segment
        case .failure: preparationFailedSinceRollover = true
        }
    }

    /// Starts counting `bytesSinceSnapshot` afresh (call when a snapshot is started).
    public func resetBytesSinceSnapshot() {
        bytesSinceSnapshot = 0
    }

    /// Stops the writer. Pending (unwritten) records are dropped; run a last sync job
    /// first for a clean shutdown. Descriptors close once outstanding jobs finish.
    public func close() {
        failure = failure ?? StorageError(.writerFailed, "the WAL writer was closed", path: walDirectory)
        pending = []
        active = nil
    }

    /// Whether a batch of `count` bytes goes into the active segment: always into one that
    /// holds no frame yet (a batch larger than a segment overshoots it), otherwise only
    /// within `segmentMaxBytes` — so a preallocated segment is never extended, and each of
    /// its syncs stays free of size metadata.
    private func fits(_ count: Int) -> Bool {
        activeBytes <= Int64(WALFormat.segmentHeaderBytes) || activeBytes + Int64(count) <= configuration.segmentMaxBytes
    }

    private func rollOver() throws {
        let firstLSN = lastWrittenLSN.next
        let path = walDirectory + "/" + WALFormat.segmentName(firstLSN: firstLSN)
        try WALWriter.checkHoldsNoRecord(path: path)
        let header = WALFormat.segmentHeader(firstLSN: firstLSN)
        let file: SegmentFile
        if let prepared {
            // Header first, then the name: until the rename the file is not a segment.
            let descriptor = try FileIO.open(prepared.path, flags: O_WRONLY)
            file = SegmentFile(descriptor: descriptor, path: path, firstLSN: firstLSN)  // closes it on failure
            try FileIO.writeAll(descriptor, header, at: 0, path: prepared.path)
            try FileIO.rename(prepared.path, to: path)
            self.prepared = nil
            preparedRollovers += 1
        } else {
            let descriptor = try FileIO.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
            file = SegmentFile(descriptor: descriptor, path: path, firstLSN: firstLSN)
            try FileIO.writeAll(descriptor, header, at: 0, path: path)
            unpreparedRollovers += 1
        }
        preparationFailedSinceRollover = false
        if let active { retired.append(active) }
        active = file
        activeBytes = Int64(header.count)
        totalBytesWritten += Int64(header.count)
        directoryNeedsSync = true
    }

    /// A segment file of the name the next one gets may exist (a crash right after a
    /// rollover, a failed disk-full probe) and is then replaced, but only if it holds no
    /// record: at most a header, then the end of the file or a zero-filled tail.
    private static func checkHoldsNoRecord(path: String) throws {
        // The usual case, checked without a thrown ENOENT on every rollover.
        guard FileIO.fileExists(path) else { return }
        let descriptor: Int32
        do {
            descriptor = try FileIO.open(path, flags: O_RDONLY)
        } catch let error as StorageError where error.errno == ENOENT {
            return
        }
        defer { Glibc.close(descriptor) }
        var start = [UInt8](repeating: 0, count: WALFormat.segmentHeaderBytes + WALFormat.frameHeaderBytes)
        let complete = try start.withUnsafeMutableBytes { try FileIO.readExactly(descriptor, into: $0, at: 0, path: path) }
        let size = try FileIO.size(descriptor, path: path)
        guard !complete || start.withUnsafeBytes({ WALFormat.isZeroFrameHeader($0, at: WALFormat.segmentHeaderBytes) }) else {
            throw StorageError(.invalidState, "segment already exists with \(size) bytes and holds records; run recovery before opening the writer", path: path)
        }
    }

    private func fail(_ error: StorageError, context: String) -> StorageError {
        var error = error
        error.message = "\(context): \(error.message); \(lastAppendedLSN.rawValue - lastWrittenLSN.rawValue) unwritten records dropped, the WAL writer refuses further writes until reopened"
        failure = error
        pending = []
        return error
    }

    private func refusal(_ failure: StorageError) -> StorageError {
        StorageError(.writerFailed, "the WAL writer failed earlier and must be reopened: \(failure)", path: failure.path)
    }
}
