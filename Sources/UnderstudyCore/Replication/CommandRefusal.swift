/// Why a keyspace command must not run on this node now. It is decided before the command
/// executes, so every case means "not executed": a client may retry it (Redis clients do,
/// for `READONLY` and `TRYAGAIN`). Unknown outcomes are never a refusal (`UncertainOutcome`).
/// The RESP text is the shell's (it knows the addresses to name).
public enum CommandRefusal: Hashable, Sendable {
    /// A write after the write-ahead log failed: `-ERR write refused: <reason>`.
    case logFailed(reason: String)
    /// A read after the write-ahead log failed fatally: `-ERR read refused: <reason>`. The
    /// keyspace may hold writes whose records never reached the disk (their clients got
    /// `-UNCERTAIN`); serving them would show data a restart will not have.
    case logFailedRead(reason: String)
    /// A write while the disk is full (ENOSPC): `-ERR write refused: disk full (ENOSPC) …`.
    /// The condition passes: the node retries the log and accepts writes again by itself.
    case diskFull(reason: String)
    /// With a witness, before it has said which role this node has: `-TRYAGAIN`.
    case roleUndecided
    /// A primary without its lease (reads and writes): `-TRYAGAIN`.
    case leaseExpired(epoch: Epoch)
    /// A write on a standby: `-READONLY … primary=<peer> epoch=<knownEpoch>`.
    case standby(knownEpoch: Epoch)
    /// A write on a primary that saw a newer epoch: `-READONLY`.
    case superseded(epoch: Epoch, by: Epoch)
    /// A write past a limit of the primary's state machine (`PrimaryReplication.admitWrite`).
    case limit(message: String)

    /// What the shell knows of the node when a command arrives.
    public struct NodeFacts: Hashable, Sendable {
        /// The node replicates (`--peer`); its role without a witness.
        public var pairRole: ReplicationRole?
        /// With a witness: the coordinator's role and whether it holds the lease now.
        public var coordinatedRole: NodeCoordinator.Role?
        public var hasLease: Bool
        public var epoch: Epoch
        public var knownEpoch: Epoch
        public var supersededBy: Epoch?
        public var logFailure: String?
        /// The log refused a write for want of space: writes wait for the space to return.
        public var diskFull: String?

        public init(pairRole: ReplicationRole?, coordinatedRole: NodeCoordinator.Role?, hasLease: Bool, epoch: Epoch,
                    knownEpoch: Epoch, supersededBy: Epoch?, logFailure: String?, diskFull: String? = nil) {
            self.pairRole = pairRole
            self.coordinatedRole = coordinatedRole
            self.hasLease = hasLease
            self.epoch = epoch
            self.knownEpoch = knownEpoch
            self.supersededBy = supersededBy
            self.logFailure = logFailure
            self.diskFull = diskFull
        }
    }

    /// Why the command must not run, or nil. `admitWrite` is the primary's own admission
    /// (limits), asked only for a write that passes everything else.
    public static func of(isWrite: Bool, node: NodeFacts, admitWrite: () -> Admission?) -> CommandRefusal? {
        if let reason = node.logFailure { return isWrite ? .logFailed(reason: reason) : .logFailedRead(reason: reason) }
        if isWrite, let reason = node.diskFull { return .diskFull(reason: reason) }
        switch node.coordinatedRole {
        case .undecided?: return .roleUndecided
        case .primary? where !node.hasLease: return .leaseExpired(epoch: node.epoch)
        case .primary?, .standby?, nil: break
        }
        guard isWrite, node.pairRole != nil else { return nil }  // reads on a standby are served (possibly stale)
        if node.pairRole == .standby { return .standby(knownEpoch: max(node.epoch, node.knownEpoch)) }
        if let newer = node.supersededBy { return .superseded(epoch: node.epoch, by: newer) }
        if case .refuse(let message)? = admitWrite() { return .limit(message: message) }
        return nil
    }
}
