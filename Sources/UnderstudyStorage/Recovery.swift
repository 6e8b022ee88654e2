public import Logging
import UnderstudyCore

/// Rebuilds a node's state from its data directory at startup.
public enum Recovery {
    /// Loads the newest valid snapshot and replays the WAL after it.
    ///
    /// - A snapshot that fails validation is skipped with a warning, falling back to the
    ///   next older one, and finally to the WAL alone.
    /// - WAL records with LSN > the snapshot's are applied in order and MUST be contiguous.
    /// - A torn or corrupt tail of the last segment is cut (one warning names the file,
    ///   offset and bytes cut). Damage anywhere else throws `.corruptLog` or `.lsnGap`
    ///   naming the file and byte offset: the node MUST NOT start on it.
    ///
    /// Creates the directories of a fresh node. Blocking; run it before serving. Open the
    /// `WALWriter` with the result (`WALWriter.open(dataDirectory:after:)`).
    public static func recover(dataDirectory: String, logger: Logger) throws -> RecoveredState {
        try createDirectories(dataDirectory)
        try removeTemporarySnapshots(dataDirectory, logger: logger)
        try removePreparedSegments(dataDirectory, logger: logger)
        var statistics = RecoveryStatistics()
        let snapshot = try loadNewestValidSnapshot(dataDirectory, statistics: &statistics, logger: logger)

        var replay = WALReplay(
            keyspace: snapshot?.keyspace ?? Keyspace(),
            snapshotLSN: snapshot?.info.lsn ?? .zero,
            snapshotEpoch: snapshot?.info.epoch ?? .initial,
            statistics: statistics,
            logger: logger
        )
        try replay.replay(try WALSegments.list(dataDirectory: dataDirectory))
        let state = RecoveredState(
            keyspace: replay.keyspace,
            lastLSN: replay.lastLSN,
            lastEpoch: replay.lastEpoch,
            snapshotLSN: replay.snapshotLSN,
            statistics: replay.statistics,
            lastRecordChecksum: try lastRecordChecksum(replay, snapshot: snapshot?.info, dataDirectory: dataDirectory, logger: logger)
        )
        logger.info(
            "Recovered \(state.keyspace.count) keys up to LSN \(state.lastLSN) (epoch \(state.lastEpoch)): snapshot LSN \(state.snapshotLSN), \(state.statistics.recordsReplayed) records replayed from \(state.statistics.segmentsScanned) segments"
        )
        return state
    }

    /// The CRC field of the frame at the recovered last LSN. Replay saw it unless the
    /// state ends at a snapshot; then the snapshot's header holds it, or (a snapshot from
    /// before the header carried it) it is looked up in the covered segment, if that is
    /// still there. A damaged covered segment does not stop recovery (it never did): the
    /// checksum is unknown.
    private static func lastRecordChecksum(_ replay: WALReplay, snapshot: SnapshotInfo?, dataDirectory: String,
                                           logger: Logger) throws -> UInt32? {
        if let frame = replay.lastCheckedFrame, frame.lsn == replay.lastLSN { return frame.checksum }
        guard replay.lastLSN == replay.snapshotLSN else { return nil }
        if let snapshot, snapshot.lsn == replay.lastLSN, let checksum = snapshot.lastRecordChecksum { return checksum }
        do {
            return try WALReader(dataDirectory: dataDirectory).recordChecksum(at: replay.lastLSN)
        } catch let error as StorageError where error.code != .io {
            logger.warning("The checksum of the record at the snapshot LSN \(replay.lastLSN) is unknown: \(error)")
            return nil
        }
    }

    private static func createDirectories(_ dataDirectory: String) throws {
        try FileIO.makeDirectories(dataDirectory)
        var created = false
        for directory in [StorageLayout.walDirectory(dataDirectory), StorageLayout.snapshotDirectory(dataDirectory)] {
            if try FileIO.makeDirectory(directory) { created = true }
        }
        if created { try FileIO.syncDirectory(dataDirectory) }
    }

    /// A crash during `SnapshotWriter.write` can leave a temporary file behind.
    private static func removeTemporarySnapshots(_ dataDirectory: String, logger: Logger) throws {
        let directory = StorageLayout.snapshotDirectory(dataDirectory)
        for name in try FileIO.listDirectory(directory) where name.hasSuffix(SnapshotFormat.temporarySuffix) {
            try FileIO.remove(directory + "/" + name)
            logger.info("Removed unfinished snapshot \(directory)/\(name)")
        }
    }

    /// A segment file prepared ahead (`WALSegmentPreparation`) but not yet taken by a
    /// rollover, finished or not, holds no record; the next writer prepares its own.
    private static func removePreparedSegments(_ dataDirectory: String, logger: Logger) throws {
        let directory = StorageLayout.walDirectory(dataDirectory)
        var removed = false
        for name in [WALFormat.preparingName, WALFormat.preparedName] where try FileIO.removeIfPresent(directory + "/" + name) {
            logger.info("Removed unused prepared WAL segment \(directory)/\(name)")
            removed = true
        }
        if removed { try FileIO.syncDirectory(directory) }
    }

    private static func loadNewestValidSnapshot(
        _ dataDirectory: String,
        statistics: inout RecoveryStatistics,
        logger: Logger
    ) throws -> (keyspace: Keyspace, info: SnapshotInfo)? {
        let candidates = try SnapshotFormat.list(dataDirectory: dataDirectory)
        for (index, candidate) in candidates.enumerated() {
            do {
                let snapshot = try SnapshotReader.read(path: candidate.path)
                statistics.snapshotPath = candidate.path
                statistics.snapshotEntryCount = snapshot.info.entryCount
                return snapshot
            } catch let error as StorageError where error.code != .io {
                statistics.snapshotsRejected += 1
                let fallback = index + 1 < candidates.count ? "falling back to \(candidates[index + 1].path)" : "falling back to the WAL alone"
                logger.error("Snapshot \(candidate.path) is invalid (\(error)); \(fallback)")
            }
        }
        return nil
    }
}
