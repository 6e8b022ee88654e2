public import Logging
import UnderstudyCore

/// Recovery for a node whose data has a second copy (a replicated node: the primary holds
/// every record a standby has).
extension Recovery {
    /// How many times damage is set aside before recovery gives up.
    static let maxSetAsideAttempts = 4

    /// Like `recover`, but damage that `recover` refuses to start on (a corrupt frame that
    /// is not the torn tail, a gap in the LSNs, a snapshot it had to skip) is moved aside
    /// into `<data-dir>/discarded/<unix-ms>/` — never deleted — and recovery runs again:
    ///
    /// - a damaged WAL segment: it and every later segment go, the node keeps the valid
    ///   prefix of its log (it comes back behind, as after a lagging spell);
    /// - a gap (records missing after a snapshot): the whole log and every snapshot go,
    ///   the node comes back empty;
    /// - a snapshot recovery skipped as invalid: it goes (the older state recovered is kept).
    ///
    /// The caller MUST only use this where the records set aside exist elsewhere and the
    /// node then catches up before it is eligible to serve them (a standby streams from its
    /// primary, or takes its snapshot): a node that comes back behind is not in sync, so it
    /// is not promoted automatically (DESIGN.md invariant 4). Each move is logged at error
    /// level with the file, the reason and where it went.
    public static func recoverSettingAsideDamage(dataDirectory: String, logger: Logger) throws -> RecoveredState {
        for _ in 0..<maxSetAsideAttempts {
            do {
                let recovered = try recover(dataDirectory: dataDirectory, logger: logger)
                try setAsideSkippedSnapshots(after: recovered, dataDirectory: dataDirectory, logger: logger)
                return recovered
            } catch let error as StorageError where error.code == .corruptLog || error.code == .lsnGap {
                try setAside(error, dataDirectory: dataDirectory, logger: logger)
            }
        }
        return try recover(dataDirectory: dataDirectory, logger: logger)
    }

    private static func setAside(_ error: StorageError, dataDirectory: String, logger: Logger) throws {
        let now = DiscardedLog.currentUnixMilliseconds()
        let segments = try WALSegments.list(dataDirectory: dataDirectory)
        let target: String?
        if error.code == .corruptLog, let damaged = segments.first(where: { $0.path == error.path }) {
            let suffix = segments.filter { $0.firstLSN >= damaged.firstLSN }
            target = try DiscardedLog.moveAside(segments: suffix, snapshots: [], dataDirectory: dataDirectory,
                                                nowUnixMilliseconds: now)
            logger.error("damaged WAL segment set aside with every later one; the log is kept up to the damage and catches up from the primary", metadata: [
                "damage": "\(error)", "segments": "\(suffix.count)", "moved_to": "\(target ?? "-")",
            ])
        } else {
            target = try DiscardedLog.moveAside(dataDirectory: dataDirectory, nowUnixMilliseconds: now)
            logger.error("the local log cannot be recovered; all of it set aside, the node starts empty and takes the primary's snapshot", metadata: [
                "damage": "\(error)", "moved_to": "\(target ?? "-")",
            ])
        }
        guard target != nil else { throw error }  // nothing left to move: the damage is elsewhere
    }

    /// Snapshots newer than the state recovered were skipped as invalid: move them aside so
    /// that no later recovery or snapshot send reads them again.
    private static func setAsideSkippedSnapshots(after recovered: RecoveredState, dataDirectory: String, logger: Logger) throws {
        guard recovered.statistics.snapshotsRejected > 0 else { return }
        let skipped = try SnapshotFormat.list(dataDirectory: dataDirectory).filter { $0.lsn > recovered.snapshotLSN }
        guard !skipped.isEmpty else { return }
        let target = try DiscardedLog.moveAside(segments: [], snapshots: skipped, dataDirectory: dataDirectory,
                                                nowUnixMilliseconds: DiscardedLog.currentUnixMilliseconds())
        logger.error("damaged snapshots set aside", metadata: [
            "snapshots": "\(skipped.map(\.path))", "moved_to": "\(target ?? "-")",
        ])
    }
}
