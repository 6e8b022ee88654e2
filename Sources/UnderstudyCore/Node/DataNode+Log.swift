/// The log's events, the durability-and-lease gate, and shutdown.
extension DataNode {
    // MARK: The log

    /// A record was appended to the log buffer (a write, an expiry, or the primary's record).
    public mutating func appended(upTo lsn: LSN, checksum: UInt32?) {
        log.appended = max(log.appended, lsn)
        log.lastRecordChecksum = checksum
    }

    /// The loop-end write put every record up to `lsn` in the WAL files, `bytes` in all
    /// since the last report (a pass's bytes are shared evenly among its records, for the
    /// lag in bytes).
    public mutating func written(upTo lsn: LSN, bytes: Int64, nowMilliseconds now: Int64) -> [NodeAction] {
        let previous = log.written
        log.written = max(log.written, lsn)
        guard lsn > previous, let reported = primary?.replication.lastWrittenLSN, lsn > reported else { return [] }
        let count = Int64(lsn.rawValue - reported.rawValue)
        let share = Int(bytes / max(1, count))
        var next = reported.next
        var actions: [PrimaryAction] = []
        withPrimary { primary in
            while next <= lsn {
                actions += primary.replication.recordWritten(next, bytes: share, nowMilliseconds: now)
                next = next.next
            }
        }
        return perform(actions, now: now)
    }

    /// The fsync policy counts records up to `lsn` as durable here (fdatasync under
    /// `always`; the write under `everysec` and `no`): a primary's machine decides what
    /// that releases; elsewhere held replies (reads on a standby, a standalone node's
    /// writes) go out.
    public mutating func locallyDurable(upTo lsn: LSN, nowMilliseconds now: Int64) -> [NodeAction] {
        if primary != nil {
            let actions = withPrimary { $0.replication.localDurable(lsn, nowMilliseconds: now) } ?? []
            return perform(actions, now: now)
        }
        return release(upTo: lsn, mayAcknowledge: true)
    }

    /// fdatasync returned: records up to `lsn` are on this disk. A standby acknowledges them.
    public mutating func synced(upTo lsn: LSN, nowMilliseconds now: Int64) -> [NodeAction] {
        log.durable = max(log.durable, lsn)
        guard let standby, lsn <= standby.replication.lastLSN else { return [] }
        let action = withStandby { $0.replication.localDurable(lsn) } ?? nil
        return perform(action, now: now)
    }

    /// The shell wrote and synced everything (`.syncLog`), or the log was replaced.
    public mutating func logSynced(through lsn: LSN) {
        log.written = max(log.written, lsn)
        log.durable = max(log.durable, lsn)
    }

    /// A write, sync or persist failed: the node refuses writes until restarted. Only what
    /// was already acknowledged stands; a held reply was not, so its write's outcome is unknown.
    public mutating func logFailed(_ reason: String) -> [NodeAction] {
        guard logFailure == nil else { return [] }
        logFailure = reason
        return [
            .note(NodeNote(.critical, "write-ahead log failed; refusing writes until restart", [
                "reason": reason, "durable_lsn": "\(log.durable)", "appended_lsn": "\(log.appended)",
            ])),
            .event(NodeEvent(.logFailed, epoch: epoch, reason: "the write-ahead log failed: \(reason)", ["durable_lsn": "\(log.durable)"])),
            .fail(after: gate.acknowledgedLSN, through: LSN(UInt64.max),
                  message: UncertainOutcome.message("the write-ahead log failed (\(reason))")),
        ]
    }

    // MARK: The gate

    /// Durability allows replies up to `lsn`: they go out if this node may acknowledge.
    mutating func release(upTo lsn: LSN, mayAcknowledge: Bool) -> [NodeAction] {
        guard let acknowledged = gate.releasable(upTo: lsn, mayAcknowledge: mayAcknowledge) else { return [] }
        return released(upTo: acknowledged)
    }

    /// The node may acknowledge again: what durability allowed meanwhile goes out.
    mutating func releaseIfAllowed(now: Int64) -> [NodeAction] {
        guard mayAcknowledge(nowMilliseconds: now), let acknowledged = gate.mayAcknowledgeAgain() else { return [] }
        return released(upTo: acknowledged)
    }

    /// Replies up to `acknowledged` go out; the first past a promotion's log end is its first
    /// acknowledged write.
    private mutating func released(upTo acknowledged: LSN) -> [NodeAction] {
        guard let promotedAt = primary?.promotedAtLSN, acknowledged > promotedAt else { return [.release(upTo: acknowledged)] }
        withPrimary { $0.promotedAtLSN = nil }
        return [.release(upTo: acknowledged), .firstWriteAcknowledged]
    }

    /// Fails held replies above `after` (never above what the gate acknowledged).
    func fail(after: LSN, through: LSN, message: String) -> NodeAction {
        .fail(after: gate.failureFloor(requested: after), through: through, message: message)
    }

    // MARK: Shutdown

    /// The node stops: it takes nothing new, and its links close.
    public mutating func shutdownBegan() -> [NodeAction] {
        isStopping = true
        var actions: [NodeAction] = [.event(NodeEvent(.drainStarted, epoch: knownEpoch, reason: "shutting down: finishing in-flight requests and syncing the log",
                                                      ["last_lsn": "\(log.appended)"]))]
        if standby?.link.id != nil {
            withStandby { $0.link = .down }
            actions.append(.closePrimaryLink(reason: "shutting down"))
        }
        if primary?.standbyLink != nil {
            withPrimary { $0.standbyLink = nil }
            actions.append(.closeStandbyLink(reason: "shutting down"))
        }
        return actions
    }

    /// Everything written is durable (or the log failed) at shutdown: what may be
    /// acknowledged goes out, the rest fails as unknown.
    public mutating func shutdownDurable(nowMilliseconds now: Int64) -> [NodeAction] {
        if let primary {
            if !mayAcknowledge(nowMilliseconds: now) {
                // Acknowledging needs the lease, at shutdown as at any other time.
                return [fail(after: gate.acknowledgedLSN, through: log.appended,
                             message: UncertainOutcome.message("the primary shut down without a lease"))]
            }
            if primary.replication.mode == .sync {
                // Zero RPO holds during shutdown too: what the standby has not acknowledged
                // is not acknowledged now either (hand-over on SIGTERM does better).
                return [fail(after: gate.acknowledgedLSN, through: log.appended,
                             message: UncertainOutcome.message("the primary shut down before the standby acknowledged this write"))]
            }
        }
        return release(upTo: log.written, mayAcknowledge: true)
    }
}
