/// The standby's side of replication, as a pure state machine: it checks every received
/// record against its log and epoch history (fencing, contiguity, duplicates), decides
/// what to append and when a new epoch begins, paces acknowledgements and measures lag.
///
/// Life of a connection: `handshake(address:)` → the primary answers → for `+STREAM`,
/// `streamAccepted`; for `+SNAPSHOT`, receive and verify the file, `snapshotInstalled`,
/// then `streamAccepted` → `receivedRecords` / `primaryHeartbeat` / `localDurable` as
/// frames arrive and sync jobs complete.
public struct StandbyReplication: Sendable {
    /// Heartbeat samples kept to measure lag in time.
    static let maxLagSamples = 64

    /// The highest epoch this node knows of (raised by records of a newer epoch).
    public private(set) var epoch: Epoch
    public private(set) var history: EpochHistory
    /// The last record in the local WAL (written, maybe not yet durable).
    public private(set) var lastLSN: LSN
    /// The CRC32C of the record at `lastLSN`; nil when it is unknown (LSN 0, or state from
    /// a snapshot whose header does not carry it).
    public private(set) var lastRecordChecksum: UInt32?
    public private(set) var durableLSN: LSN
    /// The epoch of the primary we stream from; nil while not streaming.
    public private(set) var primaryEpoch: Epoch?
    /// The primary's last written LSN, from its heartbeats and records.
    public private(set) var primaryLastWrittenLSN: LSN?
    /// The primary's clock at its last heartbeat (its own clock: informative only).
    public private(set) var primaryTimeMilliseconds: Int64?

    private var acknowledgedLSN: LSN = .zero
    private var acknowledgementPending = false
    private var caughtUpOnce = false
    /// (primary's last written LSN, our time when we learned it), oldest first, for LSNs
    /// beyond `durableLSN`.
    private var lagSamples: [(lsn: LSN, localTimeMilliseconds: Int64)] = []

    public init(epoch: Epoch, history: EpochHistory, lastLSN: LSN, lastRecordChecksum: UInt32?) {
        precondition(epoch >= history.currentEpoch, "Epoch \(epoch) is behind the history's \(history.currentEpoch)")
        precondition(lastLSN != .zero || lastRecordChecksum == nil, "LSN 0 has no record checksum")
        self.epoch = epoch
        self.history = history
        self.lastLSN = lastLSN
        self.lastRecordChecksum = lastRecordChecksum
        durableLSN = lastLSN
    }

    /// The `REPLICATE` command for a new connection; ends any previous stream.
    public mutating func handshake(address: String, clusterID: String? = nil) -> StandbyHandshake {
        endStream()
        return StandbyHandshake(standbyAddress: address, epoch: epoch, lastLSN: lastLSN,
                                lastRecordChecksum: lastRecordChecksum, history: history, clusterID: clusterID)
    }

    /// The connection is gone: records and heartbeats are refused until the next stream.
    public mutating func endStream() {
        primaryEpoch = nil
        acknowledgementPending = false
        caughtUpOnce = false
        lagSamples.removeAll()
    }

    /// The primary answered `+STREAM <epoch> <from>` (or finished a snapshot): frames
    /// follow. Returns the first acknowledgement (so the primary learns what is durable
    /// here), or `.disconnect` for a stale primary or an unexpected starting point.
    public mutating func streamAccepted(epoch primaryEpoch: Epoch, from firstLSN: LSN) -> StandbyAction {
        guard primaryEpoch >= epoch else {
            return .disconnect(reason: "primary is in epoch \(primaryEpoch), older than this node's epoch \(epoch)")
        }
        guard firstLSN == lastLSN.next else {
            return .disconnect(reason: "primary streams from LSN \(firstLSN), but this node's next LSN is \(lastLSN.next)")
        }
        self.primaryEpoch = primaryEpoch
        acknowledgementPending = true
        acknowledgedLSN = durableLSN
        return .acknowledge(durable: durableLSN, epoch: epoch)
    }

    /// The shell installed the snapshot at `lsn` (whose record was written in `epoch`),
    /// with the primary's epoch `history` that came with it. Afterwards the shell MUST
    /// persist the new `history`; the old WAL has been set aside, so the node's log now
    /// begins after `lsn`.
    /// - Throws: `ReplicationError.malformedHistory` if `history` does not put `lsn` in
    ///   `epoch` (nothing changes then).
    public mutating func snapshotInstalled(lsn: LSN, epoch snapshotEpoch: Epoch, history primaryHistory: EpochHistory,
                                           lastRecordChecksum checksum: UInt32? = nil) throws {
        let history = primaryHistory.truncated(after: lsn)
        guard lsn != .zero, history.epoch(at: lsn) == snapshotEpoch else {
            throw ReplicationError(.malformedHistory, "the snapshot at LSN \(lsn) is from epoch \(snapshotEpoch), but the primary's history \(primaryHistory) says otherwise")
        }
        self.history = history
        epoch = max(epoch, history.currentEpoch)
        lastLSN = lsn
        lastRecordChecksum = checksum
        durableLSN = lsn
        dropLagSamples(through: lsn)
    }

    /// Checks a batch of received frames, in order. See `StandbyDecision` for the contract.
    public mutating func receivedRecords(_ headers: [RecordHeader]) -> [StandbyDecision] {
        guard let streamEpoch = primaryEpoch else {
            return [.refuse(reason: "records arrived while not streaming")]
        }
        switch plan(headers, streamEpoch: streamEpoch) {
        case .failure(let refusal):
            endStream()
            return [.refuse(reason: refusal.reason)]
        case .success(let plan):
            history = plan.history
            epoch = max(epoch, history.currentEpoch)
            if let last = headers.last, last.lsn > lastLSN {
                lastLSN = last.lsn
                lastRecordChecksum = last.checksum
            }
            primaryLastWrittenLSN = max(primaryLastWrittenLSN ?? .zero, lastLSN)
            return plan.decisions
        }
    }

    /// The local WAL is durable up to `lsn`.
    public mutating func localDurable(_ lsn: LSN) -> StandbyAction? {
        precondition(lsn <= lastLSN, "LSN \(lsn) durable before it was appended (last \(lastLSN))")
        guard lsn > durableLSN else { return nil }
        durableLSN = lsn
        dropLagSamples(through: lsn)
        if let primaryLast = primaryLastWrittenLSN, lsn >= primaryLast, primaryEpoch != nil { caughtUpOnce = true }
        return acknowledgementIfDue()
    }

    /// The shell has sent the pending acknowledgement; returns the next, if durability
    /// moved meanwhile.
    public mutating func acknowledgementSent() -> StandbyAction? {
        acknowledgementPending = false
        return acknowledgementIfDue()
    }

    /// A heartbeat: the primary (in `epoch`) has written up to `lastWrittenLSN`.
    /// Returns `.disconnect` if it comes from an epoch older than the stream's.
    public mutating func primaryHeartbeat(epoch heartbeatEpoch: Epoch, lastWrittenLSN: LSN, primaryTimeMilliseconds: Int64,
                                          nowMilliseconds: Int64) -> StandbyAction? {
        guard let streamEpoch = primaryEpoch else { return nil }
        guard heartbeatEpoch >= streamEpoch else {
            endStream()
            return .disconnect(reason: "heartbeat from epoch \(heartbeatEpoch), older than the stream's epoch \(streamEpoch)")
        }
        primaryEpoch = heartbeatEpoch
        self.primaryTimeMilliseconds = primaryTimeMilliseconds
        primaryLastWrittenLSN = max(primaryLastWrittenLSN ?? .zero, lastWrittenLSN)
        if lastWrittenLSN > durableLSN {
            if lagSamples.count < Self.maxLagSamples {
                if lagSamples.last.map({ lastWrittenLSN > $0.lsn }) ?? true {
                    lagSamples.append((lastWrittenLSN, nowMilliseconds))
                }
            } else {
                // Full: fold the newest LSN into the newest sample (its older time
                // overstates the lag a little, never understates it).
                lagSamples[lagSamples.count - 1].lsn = max(lagSamples[lagSamples.count - 1].lsn, lastWrittenLSN)
            }
        } else {
            caughtUpOnce = true
        }
        return nil
    }

    /// How far behind the primary this node is, by what the primary last told it. Bytes
    /// are 0: only the primary knows the size of records not received (it reports them).
    public func lag(nowMilliseconds: Int64) -> ReplicationLag {
        let state: ReplicationLag.State = primaryEpoch == nil ? .none : (caughtUpOnce ? .streaming : .catchingUp)
        let primaryLast = primaryLastWrittenLSN ?? durableLSN
        let lsns = primaryLast > durableLSN ? primaryLast.rawValue - durableLSN.rawValue : 0
        let milliseconds = lagSamples.first.map { max(0, nowMilliseconds - $0.localTimeMilliseconds) } ?? 0
        return ReplicationLag(lsns: lsns, bytes: 0, milliseconds: milliseconds, standbyDurableLSN: durableLSN, state: state)
    }

    /// Heartbeat samples held (bounded by `maxLagSamples`).
    var lagSampleCount: Int { lagSamples.count }

    // MARK: - Helpers

    private mutating func acknowledgementIfDue() -> StandbyAction? {
        guard primaryEpoch != nil, !acknowledgementPending, durableLSN > acknowledgedLSN else { return nil }
        acknowledgementPending = true
        acknowledgedLSN = durableLSN
        return .acknowledge(durable: durableLSN, epoch: epoch)
    }

    private mutating func dropLagSamples(through lsn: LSN) {
        lagSamples.removeAll { $0.lsn <= lsn }
    }
}
