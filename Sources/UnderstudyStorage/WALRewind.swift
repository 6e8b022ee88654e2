import Glibc
public import UnderstudyCore

/// Cuts a divergent suffix off a node's log, when an old primary rejoins after a
/// failover: the records after the fork point LSN were never on the new primary, so
/// they must go, but loss is never silent. They are written to a lost-writes file
/// (`LostWritesFile` describes it) before the WAL is touched, the WAL files and snapshots
/// they lived in are moved to `<data-dir>/discarded/<unix-ms>/` rather than deleted, and
/// the caller gets a `RewindReport` to log.
public enum WALRewind {
    /// Cuts every record after `keepThrough` (the last LSN the node shares with its new
    /// primary) out of the WAL in `dataDirectory`, writing them first (fsynced) to
    /// `<data-dir>/lost-writes/<nowUnixMilliseconds>-lsn-<first>-<last>.jsonl`.
    ///
    /// In order, each step durable (fsync of the files and directories it changed) before
    /// the next:
    /// 1. The records after `keepThrough` still in the WAL go to the lost-writes file
    ///    (every frame's CRC checked on the way; each MUST carry an epoch below
    ///    `cutByEpoch`, the epoch of the primary whose history replaces them).
    /// 2. If the snapshots and WAL at or before `keepThrough` rebuild the state through
    ///    it: the segments whose records all follow `keepThrough` are moved, newest first,
    ///    to `discarded/<unix-ms>/wal/`, then the snapshots above `keepThrough` (divergent
    ///    state) to `discarded/<unix-ms>/snapshots/`, and last the segment holding
    ///    `keepThrough` is cut right after its frame (`ftruncate`, `fsync`).
    ///    `Recovery.recover` then yields `lastLSN == keepThrough`.
    /// 3. If they do not (the WAL before a newer snapshot was pruned, say), the whole WAL
    ///    and every snapshot are moved aside instead and `stateReset` is true: the node
    ///    recovers empty and MUST fetch a snapshot from its primary.
    ///
    /// `keepThrough` 0 cuts every record. It SHOULD NOT be above the node's last LSN: a
    /// log that ends before it cannot rebuild the state through it, so it is reset.
    ///
    /// Crash safety: every state a crash can leave recovers (`Recovery.recover`) to a
    /// prefix of the node's own history — the WAL always shrinks from its end, and
    /// snapshots go only after the segments — and a rerun with the same arguments
    /// finishes the job. Nothing is lost on the way: the lost-writes file is durable
    /// before the WAL changes. A rerun after a crash between steps 1 and 2 writes the same
    /// records again; with the same `nowUnixMilliseconds` it replaces the file of the same
    /// name with identical content, with another time it leaves a second file holding the
    /// same records. A rerun after a crash during step 2 writes a second file with the
    /// records still in the WAL (a subset of the first) and moves files to a second
    /// `discarded/` directory. A leftover `lost-writes/*.tmp` is removed: it was never
    /// renamed, so the WAL still holds its records.
    ///
    /// The caller MUST have closed the node's `WALWriter` (and let its sync jobs finish)
    /// and MUST NOT run `SnapshotWriter.write` or `WALSegments.prune` on the directory
    /// meanwhile. The directory MUST have been through `Recovery.recover` since the last
    /// crash of a writer (as every start does): a torn WAL tail is refused here as
    /// `.corruptLog`, not cut. Afterwards run `Recovery.recover` and open a new writer.
    ///
    /// - Throws: before step 2 the WAL and snapshots are unchanged: `.invalidState` (a
    ///   record in or after `cutByEpoch`), `.corruptLog`, `.lsnGap`, `.io`. After that,
    ///   `.io` from a step left half done: the directory is in a state a crash could
    ///   leave; rerun.
    public static func cutSuffix(
        dataDirectory: String,
        keepThrough: LSN,
        cutByEpoch: Epoch,
        nowUnixMilliseconds: Int64
    ) throws -> RewindReport {
        let plan = try WALRewindPlan(dataDirectory: dataDirectory, keepThrough: keepThrough)
        var report = try saveLostWrites(plan, dataDirectory: dataDirectory, cutByEpoch: cutByEpoch, nowUnixMilliseconds: nowUnixMilliseconds)
        if plan.canRebuild {
            report.discardedPath = try DiscardedLog.moveAside(
                segments: plan.laterSegments, snapshots: plan.divergentSnapshots,
                dataDirectory: dataDirectory, nowUnixMilliseconds: nowUnixMilliseconds
            )
            if let truncation = plan.truncation {
                try truncate(truncation.path, to: truncation.offset)
            }
        } else {
            report.discardedPath = try DiscardedLog.moveAside(dataDirectory: dataDirectory, nowUnixMilliseconds: nowUnixMilliseconds)
            report.stateReset = true
            let wal = StorageLayout.walDirectory(dataDirectory)
            if try FileIO.makeDirectory(wal) { try FileIO.syncDirectory(dataDirectory) }
        }
        return report
    }

    /// Step 1: writes the records `plan` cuts to the lost-writes file, if there are any.
    /// Returns the report so far (nothing moved yet).
    static func saveLostWrites(_ plan: WALRewindPlan, dataDirectory: String, cutByEpoch: Epoch, nowUnixMilliseconds: Int64) throws -> RewindReport {
        var report = RewindReport(snapshotOnlyLSNs: plan.snapshotOnlyLSNs)
        guard let lsns = plan.cutLSNs else { return report }
        let header = LostWritesFile.Header(
            cutAtUnixMilliseconds: nowUnixMilliseconds, keptThroughLSN: plan.keepThrough,
            cutByEpoch: cutByEpoch, lsns: lsns, snapshotOnlyLSNs: plan.snapshotOnlyLSNs
        )
        let file = try LostWritesFile.write(header, dataDirectory: dataDirectory)
        report.recordCount = file.recordCount
        report.firstLSN = lsns.lowerBound
        report.lastLSN = lsns.upperBound
        report.path = file.path
        return report
    }

    /// Cuts the segment holding the fork point right after its frame.
    private static func truncate(_ path: String, to offset: Int64) throws {
        let descriptor = try FileIO.open(path, flags: O_WRONLY)
        defer { close(descriptor) }
        try FileIO.truncate(descriptor, to: offset, path: path)
        try FileIO.fullSync(descriptor, path: path)
    }
}
