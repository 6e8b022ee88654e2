/// A full disk: a condition that passes, unlike a failed `fdatasync` (`logFailed`).
///
/// When the log cannot write for want of space (ENOSPC on a write or on a new segment),
/// nothing already written is lost: the shell syncs what the kernel took, reports it
/// (`locallyDurable`, `synced`), then calls `logFull`. The records it could not write were
/// never in any file nor sent to the standby, so their writes did not happen; the shell
/// MUST reload the keyspace from the disk (recovery) so that no reader sees them, then
/// retry the log with a backoff and report `diskSpaceReturned` once a segment can be
/// created again. Meanwhile writes are refused at once and reads are served.
extension DataNode {
    /// The log hit ENOSPC; records up to `writtenThrough` are in the files (and were synced
    /// by the shell), the ones after it were dropped.
    ///
    /// Replies of writes up to `writtenThrough` still held are uncertain (on disk, but not
    /// acknowledged — in sync mode the standby may not have them yet); those after it did not
    /// run and are refused with the disk-full text.
    ///
    /// A standby's full disk is fatal (`logFailed`): its replication machine has already
    /// counted the dropped records as received; it is restarted once there is space and
    /// catches up from the primary. The shell MUST NOT reload or probe then (`diskFull` is nil).
    public mutating func logFull(_ reason: String, writtenThrough written: LSN) -> [NodeAction] {
        guard logFailure == nil else { return [] }
        if pairRole == .standby { return logFailed("the disk is full: \(reason)") }
        let dropped = log.appended > written ? Int(log.appended.rawValue - written.rawValue) : 0
        log.appended = min(log.appended, written)
        var actions: [NodeAction] = []
        if diskFull == nil {
            actions += [
                .note(NodeNote(.error, "disk full: refusing writes until space returns; reads are served", [
                    "reason": reason, "written_lsn": "\(written)", "dropped_records": "\(dropped)",
                ])),
                .event(NodeEvent(.diskFull, epoch: epoch, reason: "the disk is full: writes are refused until space returns (\(reason))",
                                 ["written_lsn": "\(written)", "dropped_records": "\(dropped)"])),
            ]
        }
        diskFull = reason
        if written > gate.acknowledgedLSN {
            actions.append(.fail(after: gate.acknowledgedLSN, through: written,
                                 message: UncertainOutcome.message("the disk filled up before this write was acknowledged")))
        }
        actions.append(.fail(after: max(written, gate.acknowledgedLSN), through: LSN(UInt64.max),
                             message: Self.diskFullText(reason)))
        return actions
    }

    /// The shell created a log segment again after `logFull`: writes are accepted.
    public mutating func diskSpaceReturned(nowMilliseconds now: Int64) -> [NodeAction] {
        guard let reason = diskFull, logFailure == nil else { return [] }
        diskFull = nil
        return [
            .note(NodeNote(.notice, "disk space returned: accepting writes again", ["was": reason])),
            .event(NodeEvent(.diskSpaceReturned, epoch: epoch, reason: "disk space returned: writes are accepted again",
                             ["lsn": "\(log.appended)"])),
        ] + connectIfDue(now: now)
    }

    /// The RESP error of a write refused or dropped for a full disk: it did not run.
    public static func diskFullText(_ reason: String) -> String {
        "ERR write refused: disk full (ENOSPC) writing the log: \(reason); the write was not executed"
    }
}
