/// What a data node's shell must do, returned in order by every `DataNode` event.
///
/// Ordering obligations (both interpreters — `NodeEngine` and the simulator's node — keep them):
/// - The shell MUST carry out the actions of one event in the order given, completely,
///   before it feeds the node its next event.
/// - **Persist before send.** `.syncLog`, `.persistHistory`, `.persistClusterIdentity`,
///   `.cutLog` and `.appendReceived` MUST be on disk (fsync) before any later action of the
///   same list is carried out. If one fails, the shell MUST drop the rest of the list and
///   report `logFailed(_:)` (or, for `.cutLog`, `rewindFailed(_:)`).
/// - **Acknowledge only under a lease.** `.release(upTo:)` is emitted only from the node's
///   `AcknowledgementGate`: it never passes local durability, the standby's acknowledgement
///   in sync mode, or — with automatic failover — a lapsed lease. The shell MUST release
///   held replies for LSNs `<= upTo` only, each connection's in request order, and MUST NOT
///   release a reply any other way.
/// - `.fail(after:through:message:)` MUST answer `-<message>` to every held reply whose LSN
///   is in `after+1 ... through`, and only those.
/// - `.closeStandbyLink` and `.closePrimaryLink` close the connection; the node has already
///   forgotten it, and its later events (closed, frames) are ignored by link id.
/// - `.sendRecords` MUST send whole WAL frames from `from`, already written, at most
///   `maxBytes` (the first whatever its size), then report `recordsSent(upTo:bytes:)`.
public enum NodeAction: Hashable, Sendable {
    // MARK: Durable state (persist before anything that follows)

    /// Write everything appended and fdatasync it now, on the caller's thread (a role
    /// change: what follows counts this log as durable).
    case syncLog(reason: String)
    /// Persist the epoch history (write, fsync, rename).
    case persistHistory(EpochHistory)
    /// Persist the cluster identity this node has just learned.
    case persistClusterIdentity(String)
    /// Persist the highest epoch this node knows (it only grows; the history may be trimmed).
    case persistKnownEpoch(Epoch)
    /// Rejoin: cut every record after `after` into a lost-writes file (durable before the
    /// cut), recover the log, then report `logReplaced(…)`.
    case cutLog(after: LSN, byEpoch: Epoch)
    /// Standby: append these records of the batch being received (byte for byte) and
    /// apply them; report each append with `appended(upTo:checksum:)`.
    case appendReceived(Range<Int>)

    // MARK: Replies

    /// Release held replies that depend on LSNs `<= upTo`.
    case release(upTo: LSN)
    /// Fail held replies that depend on LSNs `after+1 ... through` with `-<message>`.
    case fail(after: LSN, through: LSN, message: String)
    /// Answer the pending `WAIT` of `connection` with `replicas`.
    case completeWait(connection: UInt64, replicas: Int)

    // MARK: Links

    /// Send the request to the witness; report `witnessAnswered` or `witnessUnreachable`.
    case askWitness(WitnessRequest)
    /// Primary: send a heartbeat frame to the standby (`leaseMilliseconds` nil: none to say).
    case sendHeartbeat(epoch: Epoch, lastWrittenLSN: LSN, sentAtMilliseconds: Int64, leaseMilliseconds: Int64?)
    /// Primary: read WAL frames from `from` and send at most `maxBytes` of them.
    case sendRecords(from: LSN, maxBytes: Int)
    /// Primary, switchover: send the standby `HANDOVER <newEpoch>` on its link, then close it
    /// once the frame is out.
    case sendHandover(epoch: Epoch, newEpoch: Epoch)
    /// Primary: close the standby's link.
    case closeStandbyLink(reason: String)
    /// Primary: tell the peer `FENCE <epoch> <this node> <clusterID> [<forcedFrom>]`
    /// (`forcedFrom`: this node was forced without the witness, knowing that epoch); report a
    /// refusal that says it is primary of an epoch not older with `peerIsPrimary(ofEpoch:)`.
    case fencePeer(epoch: Epoch, clusterID: String, forcedFrom: Epoch?)
    /// Standby: dial the primary; report `primaryLinkOpened` or `primaryLinkFailed`.
    case connectToPrimary
    /// Standby: send this handshake on the new link.
    case sendHandshake(StandbyHandshake)
    /// Standby: receive a snapshot of `bytes` at `lsn`; report `snapshotInstalled` or
    /// `primaryLinkFailed`.
    case receiveSnapshot(lsn: LSN, bytes: Int64)
    /// Standby: tell the primary everything up to `durable` is on this disk.
    case sendAcknowledgement(durable: LSN, epoch: Epoch)
    /// Standby: echo the primary's heartbeat (this is the promise).
    case echoHeartbeat(epoch: Epoch, sentAtMilliseconds: Int64)
    /// Standby: close the link to the primary (and drop a snapshot being received).
    case closePrimaryLink(reason: String)

    // MARK: Role (for the shell's own state, logs and metrics)

    /// This node now takes writes in `epoch` (keyspace expiry is its own again).
    case becamePrimary(epoch: Epoch, acknowledgesAlone: Bool, wasStandby: Bool)
    /// The first write since this node was promoted from standby was acknowledged (the
    /// promotion's timeline in INFO).
    case firstWriteAcknowledged
    /// This node now follows (keyspace expiry comes from the primary's log).
    case becameStandby(epoch: Epoch, primary: String?, wasPrimary: Bool)
    /// A higher epoch exists: this primary accepts no more writes.
    case steppedDown(seenEpoch: Epoch)
    /// A switchover ended: the new primary's name, or why not (`-ERR …`). The shell runs
    /// the requests it held.
    case switchoverEnded(OperatorOutcome)
    /// A forced promotion ended.
    case forcedPromotionEnded(OperatorOutcome)
    /// Worth a log line: `level` is how loud.
    case note(NodeNote)
    /// An operator's event (role, epoch, fencing, sync state, switchover, …): the shell logs
    /// it and keeps it in its bounded history.
    case event(NodeEvent)
}

/// Why an operator's switchover or forced promotion cannot start: the RESP error text.
public struct OperatorRefusal: Error, Hashable, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}

/// The outcome of an operator's switchover or forced promotion.
public enum OperatorOutcome: Hashable, Sendable {
    /// Done: the primary now is `primary`.
    case done(primary: String)
    /// Not done: the RESP error text.
    case failed(String)
}

/// A log line the node asks for (the shell picks the logger and the format).
public struct NodeNote: Hashable, Sendable {
    public enum Level: Hashable, Sendable { case debug, info, notice, warning, error, critical }
    public var level: Level
    public var message: String
    public var metadata: [String: String]

    public init(_ level: Level, _ message: String, _ metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}
