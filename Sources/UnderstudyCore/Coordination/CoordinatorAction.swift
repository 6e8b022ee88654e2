/// Why a `FENCE` changed nothing.
public enum FenceRefusal: Hashable, Sendable, Error {
    /// This node has no witness: its role is `--role`, and FENCE changes nothing.
    case notCoordinated
    /// It does not carry this cluster's identity (or this node has none yet).
    case foreignCluster
    /// It names this node itself, or a node that is not this node's peer.
    case notThePeer
    /// This node is not a primary: FENCE only ever demotes.
    case notPrimary(epoch: Epoch)
    /// Its epoch is not above this node's.
    case notNewer(epoch: Epoch)
    /// Its epoch is beyond `Epoch.highestPlausible`: no cluster gets there by failing over,
    /// and taking it would leave no epoch to ask for next.
    case implausible(epoch: Epoch)
    /// This primary holds its lease: no newer epoch can have been granted, so the sender took
    /// its own without the witness; the witness decides between them.
    case holdsLease(epoch: Epoch)
    /// The sender was forced without the witness from `forcedFrom`, and this node was made
    /// primary of a later epoch since: it may hold writes the sender lacks.
    case madeAfterTheForcedEpoch(epoch: Epoch, forcedFrom: Epoch)
}

/// What the shell does for the coordinator, in order.
public enum CoordinatorAction: Hashable, Sendable {
    /// Send the request to the witness; report its answer (`witnessAnswered`) with the time
    /// it was sent, or `witnessUnreachable`.
    case askWitness(WitnessRequest)
    /// Send a heartbeat on the replication stream carrying `sentAtMilliseconds`, for the
    /// standby to echo in its acknowledgement.
    case sendStandbyHeartbeat(sentAtMilliseconds: Int64)
    /// Become primary of `epoch`: persist the epoch (fsync) first if it is new, then take
    /// writes. In sync mode with `acknowledgeAlone`, writes need only this node's disk.
    case becomePrimary(epoch: Epoch, acknowledgeAlone: Bool)
    /// Stop acting as primary at once (fail what waits, refuse writes) and follow `primary`.
    case becomeStandby(epoch: Epoch, primary: String?)
    /// Sync mode: whether a write may be acknowledged without the standby. `false` MUST take
    /// effect before the request that follows it is sent.
    case acknowledgeAlone(Bool)
    /// Send the peer `FENCE <epoch> <this node> <clusterID> [<forcedFrom>]` (a primary with no
    /// standby attached, so that a peer still acting in an older epoch steps down;
    /// `forcedFrom` only from a primary forced without the witness). Report a refusal that
    /// says the peer is primary of an epoch not older with `peerIsPrimary(ofEpoch:)`.
    case fencePeer(epoch: Epoch, clusterID: String, forcedFrom: Epoch?)
    /// The lease was regained: replies held for it may go out.
    case leaseAcquired
}
