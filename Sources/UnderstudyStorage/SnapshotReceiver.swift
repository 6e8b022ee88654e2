import Glibc
public import Logging
public import UnderstudyCore

/// What `SnapshotReceiver.finish` installed.
public struct SnapshotInstallation: Sendable {
    /// The node's state now: the snapshot's keyspace at its LSN. Open the writer with it
    /// (`WALWriter.open(dataDirectory:after:)`): it continues at the snapshot LSN + 1.
    /// `lastRecordChecksum` is nil (the record at the snapshot LSN is not in this WAL).
    public var state: RecoveredState
    /// Where the previous WAL and snapshots were moved (`<data-dir>/discarded/<unix-ms>`),
    /// or nil if the node had neither.
    public var discardedPath: String?
}

/// Receives a snapshot file from a primary and installs it in place of the node's log.
///
/// Threading: blocking file I/O; run it on a background thread, owned by one thread at a
/// time (not `Sendable`: create it where it is used).
///
/// Chunks go to `snapshots/incoming.tmp`. Any error — more bytes than announced, a wrong
/// LSN, a checksum mismatch, an invalid file, an I/O error — abandons the transfer: the
/// temporary file is removed and the node is exactly as it was (a receiver that is
/// dropped unfinished does the same, and recovery removes a leftover after a crash).
/// The next connection starts over with a new receiver.
public final class SnapshotReceiver {
    public static let temporaryFileName = "incoming.tmp"

    public let dataDirectory: String
    public let expectedLSN: LSN
    public let totalBytes: Int64
    public private(set) var receivedBytes: Int64 = 0
    /// `snapshots/incoming.tmp`.
    public let temporaryPath: String

    /// Nil once finished or abandoned.
    private var descriptor: Int32?
    private var checksum = CRC32C()
    /// The first bytes, until the header can be checked.
    private var header: [UInt8] = []

    /// Starts a transfer announced as `totalBytes` bytes of a snapshot at `expectedLSN`;
    /// a leftover temporary file of an earlier attempt is replaced.
    public init(dataDirectory: String, expectedLSN: LSN, totalBytes: Int64) throws {
        let minimumBytes = Int64(SnapshotFormat.headerBytes + SnapshotFormat.trailerBytes)
        guard totalBytes >= minimumBytes else {
            throw StorageError(.snapshotTransfer, "announced snapshot of \(totalBytes) bytes is shorter than the smallest snapshot (\(minimumBytes))")
        }
        self.dataDirectory = dataDirectory
        self.expectedLSN = expectedLSN
        self.totalBytes = totalBytes
        let directory = StorageLayout.snapshotDirectory(dataDirectory)
        if try FileIO.makeDirectory(directory) { try FileIO.syncDirectory(dataDirectory) }
        temporaryPath = directory + "/" + SnapshotReceiver.temporaryFileName
        descriptor = try FileIO.open(temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
    }

    deinit { abort() }

    /// Appends the next bytes of the file. Refuses (and abandons the transfer) if they go
    /// beyond the announced size, or if the header, once complete, is invalid or names
    /// another LSN.
    public func receive(_ chunk: UnsafeRawBufferPointer) throws {
        guard let descriptor else { throw StorageError(.invalidState, "the snapshot transfer is already finished or abandoned", path: temporaryPath) }
        do {
            guard Int64(chunk.count) <= totalBytes - receivedBytes else {
                throw StorageError(.snapshotTransfer, "received \(receivedBytes + Int64(chunk.count)) bytes of a snapshot announced as \(totalBytes) bytes")
            }
            try checkHeader(adding: chunk)
            if let code = FileIO.writeAll(descriptor, chunk).errno {
                throw FileIO.error("write of \(chunk.count) bytes", path: temporaryPath, errno: code)
            }
            checksum.update(chunk)
            receivedBytes += Int64(chunk.count)
        } catch {
            throw abandon(error)
        }
    }

    public func receive(_ chunk: [UInt8]) throws {
        try chunk.withUnsafeBytes { try receive($0) }
    }

    /// Verifies the whole file (size, `expectedChecksum` — the CRC32C of every byte — and
    /// `SnapshotReader.read`), then installs it:
    ///
    /// 1. `wal/` is moved to `<data-dir>/discarded/<unix-ms>/wal` (never deleted), and the
    ///    old snapshots to `.../snapshots`; each rename is followed by directory fsyncs.
    /// 2. The file is renamed to `snapshots/snapshot-<LSN>.snap`, `snapshots/` fsynced.
    /// 3. An empty `wal/` is created.
    ///
    /// The caller MUST have closed the node's `WALWriter` (and let its sync jobs finish)
    /// and MUST NOT run `SnapshotWriter.write` or `WALSegments.prune` on the directory
    /// meanwhile. Afterwards it opens a new writer with `state`, and persists the
    /// primary's epoch history. A crash during step 1 leaves a node without its WAL that
    /// recovers to an older snapshot of its own (or empty): behind, never mixed.
    ///
    /// - Throws: before step 1, the transfer is abandoned (node unchanged);
    ///   `.snapshotTransfer`, `.corruptSnapshot`, `.unsupportedVersion`, `.io`.
    public func finish(expectedChecksum: UInt32, logger: Logger) throws -> SnapshotInstallation {
        guard let descriptor else { throw StorageError(.invalidState, "the snapshot transfer is already finished or abandoned", path: temporaryPath) }
        let snapshot: (keyspace: Keyspace, info: SnapshotInfo)
        do {
            guard receivedBytes == totalBytes else {
                throw StorageError(.snapshotTransfer, "received \(receivedBytes) of \(totalBytes) announced bytes")
            }
            guard checksum.value == expectedChecksum else {
                throw StorageError(.snapshotTransfer, "checksum of the received file is \(checksum.value), the sender's is \(expectedChecksum)")
            }
            try FileIO.fullSync(descriptor, path: temporaryPath)
            snapshot = try SnapshotReader.read(path: temporaryPath)
            guard snapshot.info.lsn == expectedLSN else {
                throw StorageError(.snapshotTransfer, "received a snapshot at LSN \(snapshot.info.lsn), expected LSN \(expectedLSN)")
            }
        } catch {
            throw abandon(error)
        }
        close(descriptor)
        self.descriptor = nil
        let discardedPath = try DiscardedLog.moveAside(dataDirectory: dataDirectory, nowUnixMilliseconds: DiscardedLog.currentUnixMilliseconds())
        let path = StorageLayout.snapshotDirectory(dataDirectory) + "/" + SnapshotFormat.fileName(lsn: expectedLSN)
        try FileIO.rename(temporaryPath, to: path)
        try FileIO.syncDirectory(StorageLayout.snapshotDirectory(dataDirectory))
        if try FileIO.makeDirectory(StorageLayout.walDirectory(dataDirectory)) { try FileIO.syncDirectory(dataDirectory) }

        var statistics = RecoveryStatistics()
        statistics.snapshotPath = path
        statistics.snapshotEntryCount = snapshot.info.entryCount
        let state = RecoveredState(
            keyspace: snapshot.keyspace, lastLSN: snapshot.info.lsn, lastEpoch: snapshot.info.epoch,
            snapshotLSN: snapshot.info.lsn, statistics: statistics, lastRecordChecksum: snapshot.info.lastRecordChecksum
        )
        logger.warning(
            "Installed snapshot \(path) (LSN \(snapshot.info.lsn), epoch \(snapshot.info.epoch), \(snapshot.info.entryCount) keys); \(discardedPath.map { "the previous WAL and snapshots were moved to \($0)" } ?? "there was no previous WAL")",
            metadata: ["file": "\(path)", "discarded": "\(discardedPath ?? "")"]
        )
        return SnapshotInstallation(state: state, discardedPath: discardedPath)
    }

    /// Abandons the transfer: closes and removes the temporary file. The node is
    /// unchanged. Does nothing once finished or abandoned.
    public func abort() {
        guard let descriptor else { return }
        close(descriptor)
        self.descriptor = nil
        _ = unlink(temporaryPath)  // best effort: recovery removes a leftover *.tmp
    }

    private func abandon(_ error: any Error) -> any Error {
        abort()
        guard var error = error as? StorageError else { return error }
        error.message = "snapshot transfer abandoned: \(error.message)"
        if error.path == nil { error.path = temporaryPath }
        return error
    }

    /// Checks the header as soon as its bytes are in, so a wrong file is refused early.
    private func checkHeader(adding chunk: UnsafeRawBufferPointer) throws {
        guard header.count < SnapshotFormat.headerBytes else { return }
        header += chunk.prefix(SnapshotFormat.headerBytes - header.count)
        guard header.count == SnapshotFormat.headerBytes else { return }
        let (lsn, _, _) = try header.withUnsafeBytes { try SnapshotFormat.parseHeader($0) }
        guard lsn == expectedLSN else {
            throw StorageError(.snapshotTransfer, "the snapshot being received is at LSN \(lsn), expected LSN \(expectedLSN)", offset: 16)
        }
    }
}
