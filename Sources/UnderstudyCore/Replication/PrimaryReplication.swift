/// The primary's side of replication to (at most) one standby, as a pure state machine:
/// it decides when replies may be released (`commitLSN`), which writes to refuse or fail,
/// what to send the standby and when, and when to stop being primary.
///
/// Every event is a mutating method that returns the `PrimaryAction`s the shell must
/// perform, in order (see `PrimaryAction` for the contract). Time comes in as
/// `nowMilliseconds` from the shell's monotonic clock; nothing here reads a clock.
///
/// The shell reports, per record: `recordWritten` (after `write(2)`), `localDurable`
/// (after `fdatasync`); per standby message: `standbyAcknowledged`; per batch sent:
/// `recordsSent`; and calls `tick` periodically (every few tens of milliseconds) for
/// timeouts.
public struct PrimaryReplication: Sendable {
    /// Default bound on `WAIT`ing connections (one `WAIT` per connection at most, so the
    /// connection limit).
    public static let defaultMaxWaiters = 10_000
    /// Default number of recent records whose write time and size are kept for lag and
    /// timeouts (~1.5 MiB).
    public static let defaultWrittenRecordCapacity = 65_536
    /// At most this many batches sent and not yet acknowledged, whatever their size.
    public static let maxBatchesInFlight = 1024

    public let mode: ReplicationMode
    public let epoch: Epoch
    public let history: EpochHistory
    /// In sync mode, refuse a write when this many records already wait for the standby.
    public let maxWaitingRecords: Int
    /// In sync mode, fail a write's reply when the standby has not acknowledged it within
    /// this long.
    public let syncTimeoutMilliseconds: Int64
    /// At most this many bytes sent to the standby and not yet acknowledged.
    public let windowBytes: Int
    public let maxWaiters: Int

    /// Replies of writes up to here may be released. Only grows. sync: min(local durable,
    /// standby durable); async: local durable.
    public private(set) var commitLSN: LSN
    /// The last LSN durable on this node's disk.
    public private(set) var localDurableLSN: LSN
    /// The standby's last acknowledged durable LSN, kept after it detaches (those records
    /// stay durable there); `.zero` from a handshake until the standby's first
    /// acknowledgement.
    public internal(set) var standbyDurableLSN: LSN?
    /// The higher epoch seen, once this node has stepped down.
    public private(set) var steppedDownForEpoch: Epoch?
    /// Sync mode with a witness: the witness has recorded the standby as not in sync, so a
    /// write is released once it is durable here, without the standby (as pg_auto_failover
    /// does). Set only after the witness has recorded it; cleared before it is told.
    public private(set) var acknowledgesAlone = false

    /// Replies up to here were failed by the sync timeout or a step-down.
    private(set) var failedThroughLSN: LSN
    private(set) var ring: WrittenRecordRing
    var standby: AttachedStandby?
    var waiters: [Waiter] = []

    /// The standby currently attached.
    struct AttachedStandby: Sendable {
        var address: String
        /// False from the handshake until the shell has written the reply (and snapshot).
        var readyToStream = false
        var nextLSNToSend: LSN
        var bytesInFlight = 0
        /// Batches sent and not wholly acknowledged: (last LSN, bytes), oldest first.
        var batchesInFlight: [(upTo: LSN, bytes: Int)] = []
        var sendOutstanding = false
        /// Has acknowledged everything written at some point since it attached.
        var caughtUpOnce = false
        var lastAcknowledgedMilliseconds: Int64?
    }

    /// A connection blocked in `WAIT`.
    struct Waiter: Sendable {
        var connection: UInt64
        var lsn: LSN
        var numberOfReplicas: Int
        var deadlineMilliseconds: Int64?
    }

    /// - Parameters:
    ///   - lastWrittenLSN: the last record in the log when this node became primary. It is
    ///     durable (recovery read it from disk) and counts as committed: replies that
    ///     depend on it are not held back (decision: those records were written before this
    ///     state machine existed; the standby catches up on them like any other).
    public init(mode: ReplicationMode, epoch: Epoch, history: EpochHistory, maxWaitingRecords: Int,
                syncTimeoutMilliseconds: Int64, windowBytes: Int, lastWrittenLSN: LSN = .zero,
                maxWaiters: Int = Self.defaultMaxWaiters,
                writtenRecordCapacity: Int = Self.defaultWrittenRecordCapacity) {
        precondition(epoch >= history.currentEpoch, "The primary's epoch \(epoch) is behind its history (\(history.currentEpoch))")
        precondition(maxWaitingRecords >= 1 && syncTimeoutMilliseconds >= 1 && windowBytes >= 1 && maxWaiters >= 0,
                     "Replication limits must be positive")
        self.mode = mode
        self.epoch = epoch
        self.history = history
        self.maxWaitingRecords = maxWaitingRecords
        self.syncTimeoutMilliseconds = syncTimeoutMilliseconds
        self.windowBytes = windowBytes
        self.maxWaiters = maxWaiters
        commitLSN = lastWrittenLSN
        localDurableLSN = lastWrittenLSN
        failedThroughLSN = lastWrittenLSN
        ring = WrittenRecordRing(capacity: writtenRecordCapacity, lastLSN: lastWrittenLSN)
    }

    /// The last LSN written to the WAL files.
    public var lastWrittenLSN: LSN { ring.lastLSN }
    /// The attached standby's address, if one is attached.
    public var standbyAddress: String? { standby?.address }
    /// Bytes sent to the standby and not yet acknowledged.
    public var bytesInFlight: Int { standby?.bytesInFlight ?? 0 }

    /// Replies after this LSN still wait (neither released nor failed).
    public var waitingFloorLSN: LSN { max(commitLSN, failedThroughLSN) }

    // MARK: - Events

    /// Record `lsn` (`bytes` long, framed) was written to the WAL files at `nowMilliseconds`.
    public mutating func recordWritten(_ lsn: LSN, bytes: Int, nowMilliseconds: Int64) -> [PrimaryAction] {
        ring.append(lsn: lsn, bytes: bytes, timeMilliseconds: nowMilliseconds)
        return nextSend().map { [$0] } ?? []
    }

    /// The WAL is durable on this node up to `lsn`.
    public mutating func localDurable(_ lsn: LSN, nowMilliseconds: Int64) -> [PrimaryAction] {
        precondition(lsn <= lastWrittenLSN, "LSN \(lsn) durable before it was written (last written \(lastWrittenLSN))")
        guard lsn > localDurableLSN else { return [] }
        localDurableLSN = lsn
        return progress()
    }

    /// The standby says it holds every record up to `durableLSN` on disk, in `epoch`.
    public mutating func standbyAcknowledged(durableLSN: LSN, epoch acknowledgedEpoch: Epoch,
                                             nowMilliseconds: Int64) -> [PrimaryAction] {
        if acknowledgedEpoch > epoch { return receivedHigherEpoch(acknowledgedEpoch) }
        guard var attached = standby else { return [] }
        guard durableLSN < attached.nextLSNToSend else {
            standby = nil
            return [.disconnectStandby(reason: "standby acknowledged LSN \(durableLSN), beyond the last LSN sent (\(LSN(attached.nextLSNToSend.rawValue - 1)))")]
        }
        attached.lastAcknowledgedMilliseconds = nowMilliseconds
        if durableLSN >= lastWrittenLSN { attached.caughtUpOnce = true }
        guard durableLSN > (standbyDurableLSN ?? .zero) else {
            standby = attached
            return []
        }
        standbyDurableLSN = durableLSN
        while let oldest = attached.batchesInFlight.first, oldest.upTo <= durableLSN {
            attached.bytesInFlight -= oldest.bytes
            attached.batchesInFlight.removeFirst()
        }
        standby = attached
        return progress()
    }

    /// The standby's connection is gone. Its acknowledged durable LSN stays known.
    public mutating func standbyDetached(nowMilliseconds: Int64) {
        standby = nil
    }

    /// The shell sent WAL frames up to `upTo`, `bytes` in all, as a `.sendRecords` asked.
    public mutating func recordsSent(upTo lastSent: LSN, bytes: Int) -> [PrimaryAction] {
        guard var attached = standby, attached.sendOutstanding else { return [] }
        precondition(lastSent >= attached.nextLSNToSend && lastSent <= lastWrittenLSN,
                     "Sent up to \(lastSent); asked from \(attached.nextLSNToSend), written up to \(lastWrittenLSN)")
        precondition(bytes > 0, "A batch of records has bytes")
        attached.sendOutstanding = false
        attached.nextLSNToSend = lastSent.next
        attached.bytesInFlight += bytes
        attached.batchesInFlight.append((lastSent, bytes))
        standby = attached
        return nextSend().map { [$0] } ?? []
    }

    /// Whether to run a write now; `lastAppendedLSN` is the last LSN appended to the log.
    public func admitWrite(lastAppendedLSN: LSN) -> Admission {
        if let seen = steppedDownForEpoch {
            return .refuse(message: "READONLY this node is no longer primary: it has seen epoch \(seen)")
        }
        guard mode == .sync else { return .accept }
        let floor = waitingFloorLSN
        let waiting = lastAppendedLSN > floor ? lastAppendedLSN.rawValue - floor.rawValue : 0
        guard waiting < UInt64(maxWaitingRecords) else {
            return .refuse(message: "NOREPLICAS too many writes waiting for the standby (\(waiting) waiting, limit \(maxWaitingRecords))")
        }
        return .accept
    }

    /// Sync mode: whether writes are released without the standby (see `acknowledgesAlone`).
    public mutating func setAcknowledgesAlone(_ alone: Bool) -> [PrimaryAction] {
        guard alone != acknowledgesAlone else { return [] }
        acknowledgesAlone = alone
        return progress()
    }

    /// Time passes: fails sync writes that waited too long and `WAIT`s past their deadline.
    public mutating func tick(nowMilliseconds: Int64) -> [PrimaryAction] {
        var actions: [PrimaryAction] = []
        if mode == .sync, steppedDownForEpoch == nil, !acknowledgesAlone {
            let floor = waitingFloorLSN
            if let through = ring.lastLSN(writtenAtOrBefore: nowMilliseconds - syncTimeoutMilliseconds), through > floor {
                failedThroughLSN = through
                actions.append(.failWaiting(after: floor, through: through,
                                            message: "NOREPLICAS standby has not acknowledged LSN \(floor.next) within \(syncTimeoutMilliseconds) ms"))
            }
        }
        actions += expireWaiters(nowMilliseconds: nowMilliseconds)
        return actions
    }

    /// Someone (standby, witness, a peer) carries an epoch higher than ours: stop being
    /// primary at once. Waiting writes fail (their outcome is unknown), waiting `WAIT`s
    /// complete with what is known, nothing more is released or sent.
    public mutating func receivedHigherEpoch(_ seenEpoch: Epoch) -> [PrimaryAction] {
        guard seenEpoch > epoch else { return [] }
        if let previous = steppedDownForEpoch {
            guard seenEpoch > previous else { return [] }
            steppedDownForEpoch = seenEpoch
            return [.stepDown(seenEpoch)]
        }
        steppedDownForEpoch = seenEpoch
        var actions: [PrimaryAction] = [.stepDown(seenEpoch)]
        let floor = waitingFloorLSN
        failedThroughLSN = LSN(UInt64.max)
        actions.append(.failWaiting(after: floor, through: LSN(UInt64.max),
                                    message: UncertainOutcome.message("this node stepped down on seeing epoch \(seenEpoch)")))
        for waiter in waiters {
            actions.append(.completeWait(connection: waiter.connection, replicas: replicasHolding(waiter.lsn)))
        }
        waiters.removeAll()
        return actions
    }

    /// The standby's lag in bytes when it is known, for judging its eligibility: nil when no
    /// standby has acknowledged, or when it lacks records older than the history of record
    /// sizes (after a restart or a promotion that history starts empty): unknown is not zero.
    public func knownLagBytes(nowMilliseconds: Int64) -> Int64? {
        guard let durable = standbyDurableLSN else { return nil }
        guard durable >= lastWrittenLSN || durable >= ring.horizon.lsn else { return nil }
        return lag(nowMilliseconds: nowMilliseconds).bytes
    }

    /// How far the standby is behind.
    public func lag(nowMilliseconds: Int64) -> ReplicationLag {
        let state: ReplicationLag.State
        if let standby { state = standby.caughtUpOnce ? .streaming : .catchingUp } else { state = .none }
        guard let durable = standbyDurableLSN else {
            return ReplicationLag(lsns: 0, bytes: 0, milliseconds: 0, standbyDurableLSN: nil, state: state)
        }
        guard durable < lastWrittenLSN else {
            return ReplicationLag(lsns: 0, bytes: 0, milliseconds: 0, standbyDurableLSN: durable, state: state)
        }
        let bytes = ring.totalBytes - ring.cumulativeBytes(through: durable)
        let writtenAt = ring.writeTime(of: durable.next) ?? nowMilliseconds
        return ReplicationLag(lsns: lastWrittenLSN.rawValue - durable.rawValue, bytes: bytes,
                              milliseconds: max(0, nowMilliseconds - writtenAt), standbyDurableLSN: durable, state: state)
    }

    // MARK: - Helpers

    /// After durability moved: release what became committed, complete satisfied `WAIT`s,
    /// and send if the window opened.
    mutating func progress() -> [PrimaryAction] {
        var actions: [PrimaryAction] = []
        if steppedDownForEpoch == nil {
            let candidate: LSN
            switch mode {
            case .async: candidate = localDurableLSN
            case .sync: candidate = acknowledgesAlone ? localDurableLSN : min(localDurableLSN, standbyDurableLSN ?? .zero)
            }
            if candidate > commitLSN {
                commitLSN = candidate
                actions.append(.release(upTo: candidate))
            }
        }
        actions += completeSatisfiedWaiters()
        if let send = nextSend() { actions.append(send) }
        return actions
    }

    /// The next batch to ask for, if the standby is ready, no batch is being read, there
    /// is something to send and the window has room.
    mutating func nextSend() -> PrimaryAction? {
        guard steppedDownForEpoch == nil, var attached = standby, attached.readyToStream, !attached.sendOutstanding,
              attached.nextLSNToSend <= lastWrittenLSN, attached.bytesInFlight < windowBytes,
              attached.batchesInFlight.count < Self.maxBatchesInFlight else { return nil }
        attached.sendOutstanding = true
        standby = attached
        return .sendRecords(from: attached.nextLSNToSend, maxBytes: windowBytes - attached.bytesInFlight)
    }
}
