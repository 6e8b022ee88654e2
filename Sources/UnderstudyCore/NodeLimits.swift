/// The fixed limits of a data node's protocol, in one place: every queue, frame and wait
/// that is not a flag (`ServerConfiguration` and `RESPLimits` hold those). Each is tested
/// at the limit and one past it.
public struct NodeLimits: Hashable, Sendable {
    /// The largest replication frame a link accepts; a header declaring more closes it.
    public var maxReplicationFrameBytes: Int
    /// The bytes of one snapshot chunk frame (the primary sends one at a time).
    public var snapshotChunkBytes: Int
    /// A primary with no standby sends its peer `FENCE` every this many heartbeats.
    public var fenceNoticeIntervalHeartbeats: Int64
    /// Witness heartbeats unanswered at once; a slow witness gets no more.
    public var maxWitnessHeartbeatsInFlight: Int
    /// How long `FAILOVER` and `PROMOTE FORCE` wait by default, and the hand-over on SIGTERM.
    public var switchoverTimeoutMilliseconds: Int64
    public var forcedPromotionTimeoutMilliseconds: Int64
    public var shutdownHandoverTimeoutMilliseconds: Int64
    /// A stopped node's admin port keeps answering 503 this long before it closes (only with
    /// `--admin`), so health checks see the drain rather than a refused connection.
    public var drainHealthLingerMilliseconds: Int64

    /// The limits every node runs with.
    public static let standard = NodeLimits(
        maxReplicationFrameBytes: 64 << 20, snapshotChunkBytes: 256 << 10, fenceNoticeIntervalHeartbeats: 5,
        maxWitnessHeartbeatsInFlight: 4, switchoverTimeoutMilliseconds: 5_000,
        forcedPromotionTimeoutMilliseconds: 5_000, shutdownHandoverTimeoutMilliseconds: 3_000,
        drainHealthLingerMilliseconds: 1_000)
}
