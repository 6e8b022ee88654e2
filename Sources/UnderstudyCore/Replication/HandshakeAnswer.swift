/// The primary's answer to a standby's `REPLICATE`, as one RESP reply line:
///
/// ```
/// +STREAM <epoch> <from-lsn> <cluster|->
/// +SNAPSHOT <epoch> <snapshot-lsn> <bytes> <snapshot-epoch> <history> <cluster|->
/// -DIVERGED <history> cluster=<cluster|-> <reason>
/// -<anything else>          (refused: READONLY, EPOCH, ERR …)
/// ```
/// `cluster` is the primary's cluster identity (`ClusterIdentity`); a standby follows only
/// a primary of its own cluster, and learns the identity here if it has none. Older
/// primaries sent STREAM and SNAPSHOT without it; those are read with no identity.
public enum HandshakeAnswer: Hashable, Sendable {
    /// Stream records from `from`, of the primary's `epoch`.
    case stream(epoch: Epoch, from: LSN, clusterID: String?)
    /// The WAL this standby needs is gone: a snapshot of `bytes` at `lsn` follows.
    case snapshot(epoch: Epoch, lsn: LSN, bytes: Int64, snapshotEpoch: Epoch, history: EpochHistory, clusterID: String?)
    /// The standby's log diverged: the primary's history lets it find the fork point.
    case diverged(history: EpochHistory, clusterID: String?, reason: String)
    /// Anything else: the reply's text, as it came.
    case refused(String)

    /// The reply line without its type byte, and whether it is an error.
    public var line: (text: String, isError: Bool) {
        switch self {
        case .stream(let epoch, let from, let clusterID):
            return ("STREAM \(epoch) \(from) \(clusterID ?? "-")", false)
        case .snapshot(let epoch, let lsn, let bytes, let snapshotEpoch, let history, let clusterID):
            return ("SNAPSHOT \(epoch) \(lsn) \(bytes) \(snapshotEpoch) \(history) \(clusterID ?? "-")", false)
        case .diverged(let history, let clusterID, let reason):
            return ("DIVERGED \(history) cluster=\(clusterID ?? "-") \(reason)", true)
        case .refused(let text):
            return (text, true)
        }
    }
}
