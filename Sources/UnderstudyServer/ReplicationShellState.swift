import NIOCore
import UnderstudyCore
import UnderstudyStorage

/// What the engine holds for its pair beyond the protocol (`DataNode` has that): the
/// connections, file cursors and transfers, the witness link, and what INFO reports.
/// Owned by the engine's event loop.
struct ReplicationShellState {
    let configuration: ReplicationConfiguration?

    /// Primary: the standby's replication connection, the cursor over our WAL files, and a
    /// snapshot being sent before its WAL stream starts.
    var standbyChannel: (id: UInt64, channel: any Channel)?
    var standbyReader: WALReader?
    var snapshotSender: SnapshotSender?
    /// Standby: the connection to the primary, and a snapshot being received.
    var primaryChannel: (id: UInt64, channel: any Channel)?
    var snapshotReceiver: SnapshotReceiver?
    /// Link ids handed to the `DataNode` (events of a replaced connection carry a stale id).
    var nextLinkID: UInt64 = 1
    /// Connections in WAIT, by client ID.
    var waitingClients: [UInt64: ClientHandler] = [:]
    /// WAL bytes already reported to the node with `written`.
    var bytesReportedWritten: Int64 = 0
    /// Standby: the records frame whose `.appendReceived` actions are being carried out.
    var receivedBatch: (frames: [UInt8], records: [WALRecord])?

    /// The node has been told its name (first tick).
    var started = false
    /// With `--witness`: the connection to the witness.
    var witnessLink: WitnessLink?
    /// The last cut of a divergent suffix (rejoin after a failover), for INFO and status.
    var lastRewind: RewindReport?
    /// The last promotion of this node: when its primary was last heard, when the vote
    /// was granted, and when the first write was acknowledged (monotonic ms).
    var lastPromotion: PromotionTimeline?
    /// When this standby first asked the witness for a vote since it last followed.
    var pendingVoteSinceMilliseconds: Int64?
    /// The epoch the primary last offered this standby in a switchover: a promotion into
    /// it is the switchover's, not a failover (metrics).
    var handoverOfferedEpoch: Epoch?
    /// A switchover's held connections and the caller waiting for its outcome.
    var heldForHandover: [ObjectIdentifier: ClientHandler] = [:]
    var switchoverCompletion: ((Result<String, HandoverError>) -> Void)?
    var switchoverStartedAtMilliseconds: Int64 = 0
    /// `PROMOTE FORCE`'s caller.
    var forceCompletion: ((Result<String, HandoverError>) -> Void)?

    init(configuration: ServerConfiguration, walBytesWritten: Int64) {
        self.configuration = configuration.replication
        self.bytesReportedWritten = walBytesWritten
    }

    /// A fresh link id.
    mutating func makeLinkID() -> UInt64 {
        defer { nextLinkID += 1 }
        return nextLinkID
    }

    /// The id of `channel` if it is the current standby link, else one no link has.
    func standbyLinkID(of channel: any Channel) -> UInt64 {
        standbyChannel.flatMap { $0.channel === channel ? $0.id : nil } ?? 0
    }

    func primaryLinkID(of channel: any Channel) -> UInt64 {
        primaryChannel.flatMap { $0.channel === channel ? $0.id : nil } ?? 0
    }
}

/// When a standby became primary, step by step (monotonic milliseconds).
struct PromotionTimeline {
    var epoch: Epoch
    /// When the standby decided its primary was gone and asked for a vote.
    var detectedMilliseconds: Int64?
    var promotedMilliseconds: Int64
    /// When the node said its first write since the promotion was acknowledged.
    var firstWriteMilliseconds: Int64?
}

extension ReplicationConfiguration {
    /// The pair as the `DataNode` sees it.
    var dataNodePair: DataNode.Configuration.Pair {
        DataNode.Configuration.Pair(
            peer: "\(peer)", mode: mode, role: role, hint: roleHint, coordination: witness == nil ? nil : coordinationSettings,
            maxWaitingRecords: maxWaitingWrites, syncTimeoutMilliseconds: syncTimeoutMilliseconds, windowBytes: windowBytes)
    }
}
