/// How far the standby is behind, as `INFO replication` and `ROLE` report it.
///
/// Figures the core can only bound (the standby is behind records older than the
/// bounded history of write times and sizes) are lower bounds.
public struct ReplicationLag: Hashable, Sendable {
    /// Where the standby is in its life with this primary.
    public enum State: String, Hashable, Sendable {
        /// No standby attached.
        case none
        /// Attached, and has not yet caught up with the primary's log once.
        case catchingUp
        /// Caught up at least once since it attached: following the live stream.
        case streaming
    }

    /// Records written that the standby has not acknowledged durable.
    public var lsns: UInt64
    /// Bytes of those records.
    public var bytes: Int64
    /// How long ago the oldest of those records was written.
    public var milliseconds: Int64
    /// The standby's last acknowledged durable LSN (kept after it detaches); nil if no
    /// standby has attached since this node became primary.
    public var standbyDurableLSN: LSN?
    public var state: State

    public init(lsns: UInt64, bytes: Int64, milliseconds: Int64, standbyDurableLSN: LSN?, state: State) {
        self.lsns = lsns
        self.bytes = bytes
        self.milliseconds = milliseconds
        self.standbyDurableLSN = standbyDurableLSN
        self.state = state
    }
}
