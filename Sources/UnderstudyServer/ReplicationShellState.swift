import NIOCore
import UnderstudyCore
import UnderstudyStorage

/// What the engine keeps about its pair: the pure state machine of its role and the
/// connection that carries the stream. Owned by the engine's event loop.
struct ReplicationShellState {
    /// nil for a standalone node. With a witness it changes as the coordinator decides; a
    /// node the witness has not yet answered is a `.standby` here (it follows no one, and
    /// `CommandRefusal` refuses its reads as well).
    var role: ReplicationRole?
    let configuration: ReplicationConfiguration?
    var history: EpochHistory
    var primary: PrimaryReplication?
    var standby: StandbyReplication?

    /// Primary: the standby's replication connection and the cursor over our WAL files.
    var standbyChannel: (any Channel)?
    var standbyReader: WALReader?
    var standbyAddress: String?
    /// Primary: the snapshot being sent to the standby, before its WAL stream starts.
    var snapshotSender: SnapshotSender?
    /// Standby: the snapshot being received, and what the primary said of it.
    var snapshotReceiver: SnapshotReceiver?
    var incomingSnapshot: (lsn: LSN, epoch: Epoch, primaryEpoch: Epoch, history: EpochHistory)?
    /// Connections in WAIT, by client ID.
    var waitingClients: [UInt64: ClientHandler] = [:]
    /// WAL bytes already reported to the core with `recordWritten`.
    var bytesReportedWritten: Int64 = 0

    /// Standby: the connection to the primary, and what it last said.
    var primaryChannel: (any Channel)?
    var linkStatus = "connecting"
    var lastRefusal: String?
    var reconnectDelayMilliseconds: Int64 = 100
    var nextConnectAtMilliseconds: Int64 = 0
    var connecting = false

    /// A higher epoch was seen: this node no longer acts as primary.
    var fencedByEpoch: Epoch?

    /// With `--witness`: the failover state machine and the connection to the witness.
    var coordinator: NodeCoordinator?
    var witnessLink: WitnessLink?
    /// The cluster identity as persisted in the data directory (`DurableStateFile.clusterIdentity`).
    var persistedClusterID: String?
    /// The last cut of a divergent suffix (rejoin after a failover), for INFO and status.
    var lastRewind: RewindReport?
    /// The last promotion of this node: when its primary was last heard, when the vote
    /// was granted, and when the first write was acknowledged (monotonic ms).
    var lastPromotion: PromotionTimeline?
    /// A planned switchover in progress (primary).
    var handover: HandoverState?
    /// `PROMOTE FORCE` waiting for the promotion (standby): its deadline and reply.
    var pendingForce: (deadline: Int64, completion: (Result<String, HandoverError>) -> Void)?
    /// When this standby first asked the witness for a vote since it last followed.
    var pendingVoteSinceMilliseconds: Int64?

    init(configuration: ServerConfiguration, recovered: RecoveredState, history: EpochHistory, walBytesWritten: Int64) {
        self.configuration = configuration.replication
        self.role = configuration.replication?.role
        self.history = history
        self.bytesReportedWritten = walBytesWritten
        guard let replication = configuration.replication else { return }
        if replication.witness != nil {
            // The witness decides; until it has, this node follows no one and takes nothing.
            role = .standby
            return
        }
        switch replication.role {
        case .primary:
            primary = PrimaryReplication(
                mode: replication.mode, epoch: history.currentEpoch, history: history,
                maxWaitingRecords: replication.maxWaitingWrites,
                syncTimeoutMilliseconds: replication.syncTimeoutMilliseconds,
                windowBytes: replication.windowBytes, lastWrittenLSN: recovered.lastLSN)
        case .standby:
            standby = StandbyReplication(
                epoch: history.currentEpoch, history: history, lastLSN: recovered.lastLSN,
                lastRecordChecksum: recovered.lastRecordChecksum)
        }
    }
}

/// When a standby became primary, step by step (monotonic milliseconds).
struct PromotionTimeline {
    var epoch: Epoch
    /// When the standby decided its primary was gone and asked for a vote.
    var detectedMilliseconds: Int64?
    var promotedMilliseconds: Int64
    /// The log's end at promotion: the first write acknowledged after it is the new primary's first.
    var promotedAtLSN: LSN
    var firstWriteMilliseconds: Int64?
}
