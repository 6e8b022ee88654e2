/// The peer: whether its cluster identity, and its `DIVERGED`, are to be trusted; how far a
/// forced promotion without the witness moves the epoch.
extension NodeCoordinator {
    /// Why a peer claiming cluster `claimed` (nil: it has no identity yet) must be refused,
    /// or nil. Two identities that are both known must be equal.
    public func identityRefusal(ofPeerClaiming claimed: String?) -> String? {
        guard let claimed, let clusterID, claimed != clusterID else { return nil }
        return "the peer belongs to cluster \(claimed), this node to cluster \(clusterID)"
    }

    /// How far a forced promotion taken without the witness moves the epoch: the witness
    /// would need this many failovers before it heard of the forced primary to reach it.
    public static let forcedAloneEpochStride: UInt64 = 1 << 16

    /// What a standby refused as diverged does with its log.
    public enum RewindDecision: Hashable, Sendable {
        /// Cut every record after `forkPoint` (into a lost-writes file) and stream from there.
        case cut(forkPoint: LSN)
        /// Keep the log; the refusal stands (the reason, for the log).
        case keep(String)
    }

    /// Standby refused as diverged by a primary with `primaryHistory`: only a primary of this
    /// very cluster, of a newer epoch, makes a node cut records after the fork point — never a
    /// foreign or identity-less peer, which could otherwise empty a whole log.
    public func rewindDecision(primaryHistory: EpochHistory, primaryClusterID: String?, history: EpochHistory,
                               lastWrittenLSN: LSN) -> RewindDecision {
        guard let clusterID, primaryClusterID == clusterID else {
            return .keep("the primary's reply does not carry this node's cluster identity")
        }
        guard primaryHistory.currentEpoch > history.currentEpoch else {
            return .keep("the primary's epoch \(primaryHistory.currentEpoch) is not newer than this node's \(history.currentEpoch)")
        }
        let forkPoint = primaryHistory.forkPoint(with: history)
        guard forkPoint < lastWrittenLSN else { return .keep("nothing after the fork point at LSN \(forkPoint)") }
        return .cut(forkPoint: forkPoint)
    }
}
