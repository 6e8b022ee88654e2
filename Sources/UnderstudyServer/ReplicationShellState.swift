import NIOCore
import UnderstudyCore
import UnderstudyStorage

/// What the engine keeps about its pair: the pure state machine of its role and the
/// connection that carries the stream. Owned by the engine's event loop.
struct ReplicationShellState {
    /// nil for a standalone node.
    let role: ReplicationRole?
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

    init(configuration: ServerConfiguration, recovered: RecoveredState, history: EpochHistory, walBytesWritten: Int64) {
        self.configuration = configuration.replication
        self.role = configuration.replication?.role
        self.history = history
        self.bytesReportedWritten = walBytesWritten
        guard let replication = configuration.replication else { return }
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
